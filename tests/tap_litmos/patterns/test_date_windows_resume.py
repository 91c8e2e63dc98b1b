"""The `/org/*` date-window streams killed mid-backfill and resumed: real tap processes.

The tap runs as a process (`tests/helpers/resume.py`) and is SIGKILLed after chosen
message lines; the resumed run must start at the last window whose STATE arrived (less
the overlap) and, with the killed run, emit every row. The window arithmetic is the one
of `test_date_windows.py`, whose helpers this module shares.
"""

from __future__ import annotations

import datetime as dt
import typing as t

import pytest

from tests.helpers.catalog import catalog_selecting
from tests.helpers.expect import canonical, key_of, parse_utc, since_text
from tests.helpers.resume import choose_kill_points, interrupt_and_resume, run_tap_process
from tests.tap_litmos.patterns.test_date_windows import (
    LOGINS,
    MAX_SPAN,
    OVERLAP,
    SECOND,
    STREAM,
    UTC,
    configured,
    edge,
    first_since,
    start_of,
    truth_between,
    window_count,
)

if t.TYPE_CHECKING:
    from pathlib import Path

    from litmos_sandbox import LitmosSandbox

pytestmark = pytest.mark.e2e

RESUME_CASES = {"json": (STREAM, 4), "xml": (LOGINS, 4)}  # stream, kill points


@pytest.mark.parametrize("response_format", list(RESUME_CASES))
def test_an_interrupted_backfill_resumes_at_the_last_finished_window(
    sandbox: LitmosSandbox, config: dict, tmp_path: Path, response_format: str
) -> None:
    # tests/helpers/resume.py's `check_interruptions` compares the resumed run's final state with
    # an uninterrupted run's; a date-window bookmark ends at each run's own start, so the
    # same steps are taken here with that one comparison made by hand.
    stream, points = RESUME_CASES[response_format]
    spec = sandbox.spec(stream)
    start = start_of(sandbox)
    cfg = configured(config, start, response_format=response_format)
    catalog = catalog_selecting(cfg, stream)
    expected = truth_between(sandbox, stream, start, dt.datetime.now(UTC) + MAX_SPAN)
    assert len(expected) == len(sandbox.truth(stream))  # nothing after the run's start

    def key(record: dict) -> tuple:
        return key_of(record, spec.key)

    baseline = run_tap_process(cfg, workdir=tmp_path, catalog=catalog, label="uninterrupted")
    assert {key(r): r for r in baseline.records(stream)} == expected
    edges = {canonical(edge(start, k)) for k in range(1, 200)}
    kinds, resumed_mid_backfill = set(), 0
    for kill_after in choose_kill_points(baseline.types, points, seed=7):
        resumed_after: list[dt.datetime] = []

        def before_resume(began: list[dt.datetime] = resumed_after) -> None:
            sandbox.reset_log()  # the log then holds the resumed run only
            began.append(dt.datetime.now(UTC))

        result = interrupt_and_resume(
            cfg,
            stream=stream,
            key=key,
            expected=expected,  # both runs together: every row, each as the truth has it
            kill_after=kill_after,
            workdir=tmp_path / str(kill_after),
            catalog=catalog,
            before_resume=before_resume,
            message_types=baseline.types,
        )
        resumed_from = (result.resume_state or {}).get("bookmarks", {}).get(stream, {})
        assert not {"partitions", "progress_markers"} & set(resumed_from)
        bookmark = resumed_from.get("replication_key_value")
        if bookmark is None:  # killed before the first window was finished
            assert first_since(sandbox, stream) == since_text(start - SECOND)
        else:  # the resumed run begins at the bookmark, less the overlap and a second
            resumed_at = parse_utc(bookmark) - OVERLAP - SECOND
            assert first_since(sandbox, stream) == since_text(resumed_at)
            if bookmark in edges:  # the end of the last window whose STATE arrived
                resumed_mid_backfill += 1
            else:  # killed after the last window's STATE: that window ends at run start
                last_edge = edge(start, window_count(start, parse_utc(bookmark)) - 1)
                assert last_edge < parse_utc(bookmark) <= dt.datetime.now(UTC)
                assert result.resumed.records(stream) == []
        final = result.final_state["bookmarks"][stream]  # type: ignore[index]
        assert set(final) == {"replication_key", "replication_key_value"}
        # The resumed run's walk ends at its own start (Litmos's clock, in whole seconds),
        # not the uninterrupted run's: a bookmark read during the resumed run. Two fast
        # runs may share a second, so the bookmarks are compared with the runs' times,
        # not with each other.
        ended = parse_utc(final["replication_key_value"])
        assert resumed_after[0] - SECOND <= ended <= dt.datetime.now(UTC)
        baseline_end = baseline.last_state["bookmarks"][stream]["replication_key_value"]  # type: ignore[index]
        assert ended >= parse_utc(baseline_end)
        kinds.add(result.kind)
    # Killed after a window's records but before its STATE, and right after a STATE.
    assert {"records-before-state", "after-state"} <= kinds
    assert resumed_mid_backfill >= 2
