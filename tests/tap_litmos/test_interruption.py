"""SIGKILL the tap at chosen points of a multi-page sync, resume it, and lose nothing.

The tap runs as a real process against the sandbox (see `tests/helpers/resume.py`): what the
target received is what was read from stdout before the kill; the rerun starts from
the last STATE among it. Every expectation comes from the sandbox's ground truth.
"""

from __future__ import annotations

import datetime as dt
import signal
import typing as t

import pytest

from litmos_sandbox import LitmosSandbox
from tests.helpers.catalog import catalog_selecting
from tests.helpers.expect import API_KEY, canonical, expected_record
from tests.helpers.resume import (
    check_interruptions,
    choose_kill_points,
    interrupt_and_resume,
    kill_point_kind,
    run_tap_process,
)

if t.TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from tests.helpers.resume import ResumeResult

pytestmark = pytest.mark.e2e

STREAM = "achievements"
PAGE = 50  # rows a request: every sync below spans 7 to 13 pages
POINTS = 5  # kill points a scenario
START_DATE = "2025-01-01"
SEEDS = {"json": 10, "xml": 20}  # kill points differ between scenarios, yet are fixed
MID_HISTORY = dt.datetime(2025, 3, 1, 12)


def key(record: dict) -> int:
    return record["AchievementId"]


@pytest.fixture
def sandbox() -> Iterator[LitmosSandbox]:
    """600 achievements: about 270 KB of RECORD lines, four times what a pipe holds."""
    with LitmosSandbox(seed=23, users=20, achievements=600, api_key=API_KEY) as box:
        yield box


def make_config(sandbox: LitmosSandbox, response_format: str, **extra: t.Any) -> dict:
    return {
        "api_key": API_KEY,
        "api_url": sandbox.base_url,
        "max_requests_per_minute": 0,
        "page_size": PAGE,
        "response_format": response_format,
        **extra,
    }


def expected_since(sandbox: LitmosSandbox, cutoff: str | None = None) -> dict[int, dict]:
    """The truth rows the tap must emit from `cutoff` (canonical text) on, by id."""
    rows = (expected_record(r) for r in sandbox.truth())
    return {r["AchievementId"]: r for r in rows if cutoff is None or r["AchievementDate"] >= cutoff}


def bookmark(state: dict | None) -> dict | None:
    """The achievements entry of a state (other streams' entries are not ours to check)."""
    return (state or {}).get("bookmarks", {}).get(STREAM)


def flat_bookmark(value: str) -> dict:
    return {"replication_key": "AchievementDate", "replication_key_value": value}


def assert_kill_points_cover(results: list[ResumeResult], *, interim_states: bool) -> None:
    points = [r.kill_after for r in results]
    assert len(points) == len(set(points)) >= POINTS
    kinds = {r.kind for r in results}
    assert "records-before-state" in kinds  # a page's records arrived, its STATE did not
    assert ("after-state" if interim_states else "after-final-state") in kinds


# --- Choosing kill points ----------------------------------------------------------------

# A sync with interim STATEs: SCHEMA, then 3 pages of 4 records, each followed by a STATE,
# then the final STATE.
PAGED = ["SCHEMA"] + (["RECORD"] * 4 + ["STATE"]) * 3 + ["STATE"]


def test_kill_points_are_distinct_sorted_and_reproducible() -> None:
    for seed in range(50):
        points = choose_kill_points(PAGED, 6, seed)
        assert points == sorted(set(points))
        assert len(points) == 6
        assert all(1 <= k <= len(PAGED) for k in points)
        assert choose_kill_points(PAGED, 6, seed) == points
    assert len({tuple(choose_kill_points(PAGED, 5, s)) for s in range(50)}) > 10


def test_kill_points_always_hit_the_critical_places() -> None:
    for seed in range(50):
        kinds = [kill_point_kind(PAGED, k) for k in choose_kill_points(PAGED, 5, seed)]
        assert "records-before-state" in kinds
        assert "after-state" in kinds  # an interim STATE, when the run has one
        assert "mid-records" in kinds


def test_kill_points_spread_over_the_run() -> None:
    types = ["SCHEMA"] + ["RECORD"] * 998 + ["STATE"]
    for seed in range(20):
        points = choose_kill_points(types, 5, seed)
        # required: after the last RECORD, after the final STATE (both in the last
        # fifth) and between two RECORDs; the other two fall in fifths without a point.
        assert points[-2:] == [999, 1000]
        assert len({(k - 1) * 5 // len(types) for k in points}) >= 4


def test_kill_point_kinds() -> None:
    assert kill_point_kind(PAGED, 1) == "after-SCHEMA"
    assert kill_point_kind(PAGED, 2) == "mid-records"
    assert kill_point_kind(PAGED, 5) == "records-before-state"
    assert kill_point_kind(PAGED, 6) == "after-state"
    assert kill_point_kind(PAGED, 16) == "after-final-state"
    assert kill_point_kind(PAGED, 17) == "after-final-state"
    with_state = ["STATE", "SCHEMA", "RECORD", "STATE"]
    assert kill_point_kind(with_state, 1) == "after-initial-state"
    assert kill_point_kind(with_state, 2) == "after-SCHEMA"
    assert kill_point_kind(with_state, 4) == "after-final-state"


def test_kill_points_need_records_and_a_state() -> None:
    with pytest.raises(ValueError, match="no RECORD directly followed by a STATE"):
        choose_kill_points(["SCHEMA", "STATE", "STATE", "STATE"], 3, 0)
    with pytest.raises(ValueError, match="need 3 <= n"):
        choose_kill_points(PAGED, len(PAGED) + 1, 0)


# --- The tap, killed and resumed --------------------------------------------------------


def test_the_kill_lands_mid_sync(sandbox: LitmosSandbox, tmp_path: Path) -> None:
    # After 2 lines the tap cannot be done: of its ~270 KB of output, at most the pipe
    # (64 KiB), the reader's buffer (8 KiB) and the tap's RECORD block (64 KiB) can be
    # written or pending, so the tap is still running (blocked writing, or fetching).
    config = make_config(sandbox, "json")
    result = interrupt_and_resume(
        config,
        catalog=catalog_selecting(config, STREAM),
        stream=STREAM,
        key=key,
        expected=expected_since(sandbox),
        kill_after=2,
        workdir=tmp_path,
    )
    killed = result.interrupted
    assert killed.killed_running
    assert killed.returncode == -signal.SIGKILL
    assert killed.types == ["SCHEMA", "RECORD"]
    assert result.resume_state is None  # no STATE arrived: the rerun starts afresh
    assert len(result.resumed.records(STREAM)) == len(expected_since(sandbox))


@pytest.mark.parametrize("response_format", ["json", "xml"])
@pytest.mark.parametrize("start_date", [None, START_DATE])
def test_first_run(
    sandbox: LitmosSandbox, tmp_path: Path, response_format: str, start_date: str | None
) -> None:
    extra = {"start_date": start_date} if start_date else {}
    config = make_config(sandbox, response_format, **extra)
    expected = expected_since(sandbox, start_date and f"{start_date}T00:00:00.000Z")
    assert len(expected) >= 6 * PAGE
    results = check_interruptions(
        config,
        catalog=catalog_selecting(config, STREAM),
        stream=STREAM,
        key=key,
        expected=expected,
        workdir=tmp_path,
        points=POINTS,
        seed=SEEDS[response_format] + (start_date is not None),
        state_every=PAGE,  # an interim STATE after every page
    )
    assert_kill_points_cover(results, interim_states=True)


@pytest.mark.parametrize("response_format", ["json", "xml"])
def test_incremental_run_with_new_rows(
    sandbox: LitmosSandbox, tmp_path: Path, response_format: str
) -> None:
    config = make_config(sandbox, response_format)
    previous = run_tap_process(
        config,
        catalog=catalog_selecting(config, STREAM),
        workdir=tmp_path / "previous",
        label="previous",
    )
    old = bookmark(previous.last_state)["replication_key_value"]
    at_old = dt.datetime.fromisoformat(old.replace("Z", "+00:00")).replace(tzinfo=None)
    # Since that run: two more at the bookmark's instant, three late ones before it (out
    # of scope: lookback_days is 0), and 300 newer ones (one a minute).
    sandbox.add_achievements(count=2, achievement_date=at_old)
    sandbox.add_achievements(count=3, achievement_date=at_old - dt.timedelta(days=2))
    sandbox.add_achievements(count=300)
    expected = expected_since(sandbox, old)
    assert len(expected) >= 6 * PAGE
    results = check_interruptions(
        config,
        catalog=catalog_selecting(config, STREAM),
        stream=STREAM,
        key=key,
        expected=expected,
        workdir=tmp_path,
        points=POINTS,
        seed=SEEDS[response_format] + 2,
        state=previous.last_state,
        state_every=PAGE,
    )
    assert_kill_points_cover(results, interim_states=True)
    newest = max(r["AchievementDate"] for r in expected.values())
    for result in results:
        assert bookmark(result.final_state) == flat_bookmark(newest)
        # Every STATE before the end keeps the old bookmark (interim ones put their
        # progress aside): a killed run resumes from it. Only the final STATE moves it.
        *earlier, last = [bookmark(s) for s in result.interrupted.states]
        assert all(entry["replication_key_value"] == old for entry in earlier)
        assert last["replication_key_value"] == old or (
            last == flat_bookmark(newest) and result.kind == "after-final-state"
        )


@pytest.mark.parametrize("response_format", ["json", "xml"])
def test_the_shipped_state_messages(
    sandbox: LitmosSandbox, tmp_path: Path, response_format: str
) -> None:
    # As shipped the tap writes one STATE, at the end of the stream (interim ones only
    # every 10 000 records): the kill points are before any record, amid the records,
    # after the last RECORD with the STATE not yet received, and after that STATE.
    config = make_config(sandbox, response_format, start_date=START_DATE)
    results = check_interruptions(
        config,
        catalog=catalog_selecting(config, STREAM),
        stream=STREAM,
        key=key,
        expected=expected_since(sandbox, f"{START_DATE}T00:00:00.000Z"),
        workdir=tmp_path,
        points=POINTS,
        seed=SEEDS[response_format] + 3,
    )
    assert_kill_points_cover(results, interim_states=False)
    assert results[0].interrupted.types.count("STATE") == 0


def test_rows_arriving_while_the_tap_is_down(sandbox: LitmosSandbox, tmp_path: Path) -> None:
    config = make_config(sandbox, "json")
    catalog = catalog_selecting(config, STREAM)
    baseline = run_tap_process(
        config, catalog=catalog, workdir=tmp_path, state_every=PAGE, label="baseline"
    )

    def arrive() -> None:
        sandbox.add_achievements(count=5)  # newer than everything
        # ... and one far behind where the killed run had got to: the tap does not
        # resume mid-way through a newest-first list, so it finds it too.
        sandbox.add_achievements(count=1, achievement_date=MID_HISTORY)

    for kill_after in choose_kill_points(baseline.types, 3, seed=3):
        result = interrupt_and_resume(
            config,
            catalog=catalog,
            stream=STREAM,
            key=key,
            expected=lambda: expected_since(sandbox),
            kill_after=kill_after,
            workdir=tmp_path,
            state_every=PAGE,
            before_resume=arrive,
            message_types=baseline.types,
        )
        newest = canonical(max(r["AchievementDate"] for r in sandbox.truth()))
        assert bookmark(result.final_state) == flat_bookmark(newest)
