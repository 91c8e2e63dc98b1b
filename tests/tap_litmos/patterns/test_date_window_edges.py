"""Where the last date window ends, at its edges: Litmos's `Date` of the window's first page.

- A window ends at the `Date` of its FIRST page, not of its last: rows stamped while the
  later pages were served may be missing from them. Here Litmos's clock jumps an hour
  between the two pages, so the two readings are an hour apart, never a same-second tie.
- Its rows are emitted up to the end of that `Date` second, the bookmark stays at its
  start: a row stamped in the rest of that second, after the answer, is read by the next
  run, even with no overlap (`overlap_minutes` 0).

In one process, against the in-process sandbox (its `Date` header is the real clock
plus `clock_offset_seconds`).
"""

from __future__ import annotations

import datetime as dt
import threading
import time
import typing as t

import pytest

from tests.helpers.catalog import catalog_selecting
from tests.helpers.expect import parse_utc
from tests.helpers.tap import run_tap

if t.TYPE_CHECKING:
    from litmos_sandbox import LitmosSandbox

pytestmark = pytest.mark.unit

STREAM = "course_results"


def recent_config(config: dict, **extra: t.Any) -> dict:
    """One window: from two days ago to Litmos's now."""
    start = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=2)
    return {**config, "start_date": start.strftime("%Y-%m-%dT%H:%M:%SZ"), **extra}


def touch_rows(sandbox: LitmosSandbox, count: int) -> list[dict]:
    """`count` course results changed now: rows in the last window."""
    return [sandbox.touch(STREAM, (r["UserId"], r["Id"])) for r in sandbox.truth(STREAM)[:count]]


def unused_key(sandbox: LitmosSandbox) -> dict[str, str]:
    """A learner and a course with no result yet."""
    taken = {(r["UserId"], r["Id"]) for r in sandbox.truth(STREAM)}
    pairs = ((u["Id"], c["Id"]) for u in sandbox.truth("users") for c in sandbox.truth("courses"))
    user, course = next(pair for pair in pairs if pair not in taken)
    return {"UserId": user, "Id": course}


def test_the_last_window_ends_at_the_date_of_its_first_page(
    sandbox: LitmosSandbox, config: dict
) -> None:
    touch_rows(sandbox, 5)
    settings = recent_config(config, page_size=2)
    # The second page waits a second; meanwhile Litmos's clock jumps an hour ahead.
    sandbox.configure(slow_seconds=1.0)
    sandbox.inject("slow", after=1)

    def jump_when_the_second_page_is_asked() -> None:
        ends = time.monotonic() + 60
        while len(sandbox.requests) < 2 and time.monotonic() < ends:
            time.sleep(0.005)
        sandbox.configure(clock_offset_seconds=3600)

    jumper = threading.Thread(target=jump_when_the_second_page_is_asked)
    jumper.start()
    before = dt.datetime.now(dt.timezone.utc)
    run = run_tap(settings, catalog=catalog_selecting(settings, STREAM))
    after = dt.datetime.now(dt.timezone.utc)
    jumper.join()
    assert len(sandbox.requests) >= 3
    assert len({r["params"]["since"] for r in sandbox.requests}) == 1
    end = parse_utc(run.bookmark(STREAM))
    # The first page's Date (whole seconds), not the last page's, an hour later.
    assert before - dt.timedelta(seconds=1) <= end <= after
    assert len(run.records(STREAM)) >= 5


def test_a_row_in_the_rest_of_the_last_date_second_is_read_by_the_next_run(
    sandbox: LitmosSandbox, config: dict
) -> None:
    touch_rows(sandbox, 3)
    settings = recent_config(config, overlap_minutes=0)
    catalog = catalog_selecting(settings, STREAM)
    first = run_tap(settings, catalog=catalog)
    end = parse_utc(first.bookmark(STREAM))
    assert end.microsecond == 0  # a Date header: whole seconds
    # Stamped 0.7 s into that Date second, after Litmos answered: not in the first run.
    late = end + dt.timedelta(milliseconds=700)
    added = sandbox.add(STREAM, **unused_key(sandbox), UpdatedDate=late)
    assert added["Id"] not in {r["Id"] for r in first.records(STREAM)}
    second = run_tap(settings, state=first.final_state, catalog=catalog)
    assert added["Id"] in {r["Id"] for r in second.records(STREAM)}
    assert parse_utc(second.bookmark(STREAM)) >= end
