"""A run a person can follow: the plan, progress lines, the summary, and quiet logging.

Figures are checked against the sandbox's request log and the records the tap emitted;
line counts against the command line as a user runs it. Progress cadence runs on a fake
clock: no test here measures time.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import re
import subprocess
import sys
import time
import types
import typing as t
from pathlib import Path

import pytest

from litmos_sandbox import LitmosSandbox
from litmos_sandbox.spec import ORG_STREAMS
from tap_litmos.progress import SUMMARY_MARKER, RunProgress, StreamPlan, duration
from tap_litmos.streams import STREAM_TYPES
from tap_litmos.tap import TapLitmos
from tests.helpers.catalog import catalog_selecting, requests_to
from tests.helpers.expect import API_KEY
from tests.helpers.singer import parse_text
from tests.helpers.tap import TapRun, _Capture

ROOT = Path(__file__).resolve().parents[2]
SIX_MONTHS = dt.timedelta(days=183)
WINDOW_STREAMS = ORG_STREAMS  # the /org/* date-window streams, from the sandbox spec
DEFAULT_STREAMS = [s.name for s in STREAM_TYPES if s.selected_by_default]
FAN_OUT = [s.name for s in STREAM_TYPES if not s.selected_by_default]


def six_months_ago() -> str:
    return (dt.datetime.now(dt.timezone.utc) - SIX_MONTHS).date().isoformat()


def messages(caplog: pytest.LogCaptureFixture, logger: str = "tap-litmos") -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == logger]


def summary_of(lines: t.Iterable[str]) -> dict[str, t.Any]:
    """The one JSON summary line, parsed."""
    (found,) = [line.split(SUMMARY_MARKER, 1)[1] for line in lines if SUMMARY_MARKER in line]
    return json.loads(found)


def emitted(run: TapRun) -> dict[str, int]:
    counts: dict[str, int] = {}
    for message in run.messages:
        if message["type"] == "RECORD":
            counts[message["stream"]] = counts.get(message["stream"], 0) + 1
    return counts


def sync(
    config: dict, state: dict | None = None, catalog: dict | None = None, **progress: t.Any
) -> TapRun:
    """A run in-process, as `run_tap`, but with the tap's progress on `progress` settings
    (a fake clock, another interval)."""
    out = _Capture()
    with contextlib.redirect_stdout(out):
        tap = TapLitmos(config=config, state=state, catalog=catalog, parse_env_config=False)
        if progress:
            tap.run.progress = RunProgress(
                tap.logger,
                requests_per_minute=int(config.get("max_requests_per_minute", 90)),
                bad_values=tap.run.bad_values,
                **progress,
            )
        tap.sync_all()
    return TapRun(parse_text(out.text()), None, tap)


# --- The command line, as a user runs it: line budgets ---------------------------------


@pytest.fixture
def demo_sandbox() -> t.Iterator[LitmosSandbox]:
    """The demo's account: 50 users, 5 000 achievements, every stream with rows."""
    with LitmosSandbox(seed=42, users=50, achievements=5000, api_key=API_KEY) as box:
        yield box


def cli_run(
    tmp_path: Path, config: dict, state: dict | None = None
) -> tuple[list[str], list[dict], int]:
    """`tap-litmos --config --catalog catalog.json [--state]`: stderr lines, STATEs, exit."""
    (tmp_path / "config.json").write_text(json.dumps(config))
    cmd = [sys.executable, "-m", "tap_litmos", "--config", str(tmp_path / "config.json")]
    cmd += ["--catalog", str(ROOT / "catalog.json")]  # the default catalog
    if state is not None:
        (tmp_path / "state.json").write_text(json.dumps(state))
        cmd += ["--state", str(tmp_path / "state.json")]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
    states = [json.loads(line)["value"] for line in done.stdout.splitlines() if '"STATE"' in line]
    return done.stderr.splitlines(), states, done.returncode


@pytest.mark.e2e
def test_a_six_month_backfill_and_a_nightly_run_fit_their_line_budgets(
    demo_sandbox: LitmosSandbox, tmp_path: Path
) -> None:
    config = {
        "api_key": API_KEY,
        "api_url": demo_sandbox.base_url,
        "start_date": six_months_ago(),
        "max_requests_per_minute": 0,
    }
    first, states, code = cli_run(tmp_path, config)
    assert code == 0, "\n".join(first[-20:])
    first_requests = len(demo_sandbox.requests)
    demo_sandbox.reset_log()
    nightly, _, code = cli_run(tmp_path, config, states[-1])
    assert code == 0, "\n".join(nightly[-20:])

    # The budgets (905 lines before): a backfill <= 80, a nightly run <= 40.
    assert len(first) <= 80, "\n".join(first)
    assert len(nightly) <= 40, "\n".join(nightly)
    for lines in (first, nightly):
        text = "\n".join(lines)
        for chatter in ("METRIC", "Pagination stopped", "Beginning sync", "Skipping deselected"):
            assert chatter not in text
        assert sum(" | Plan: " in line for line in lines) == 1
        assert sum(f" | Not selected ({len(FAN_OUT)}): " in line for line in lines) == 1
        assert "Traceback" not in text
        assert API_KEY not in text
    # The plan comes first, the summary last: the figures match the request log.
    assert f" | Plan: {len(DEFAULT_STREAMS)} streams (" in first[1]
    assert summary_of(first)["requests"] == first_requests
    assert summary_of(nightly)["requests"] == len(demo_sandbox.requests)
    assert SUMMARY_MARKER in first[-1]
    # Every window stream says when it starts and ends in a backfill; in a nightly run,
    # where it makes one request, only the summary names it.
    for stream in WINDOW_STREAMS:
        assert sum(f" | {stream}: started, 7-day windows from " in line for line in first) == 1
        assert sum(f" | {stream}: done, " in line for line in first) == 1
        assert not [line for line in nightly if f" | {stream}: " in line]
        assert sum(re.search(rf"\|   {stream} +\d", line) is not None for line in nightly) == 1


# --- The plan against the request log ---------------------------------------------------


class _PlanWatcher(logging.Handler):
    """Notes how many requests the sandbox had seen when the plan line was logged."""

    def __init__(self, sandbox: LitmosSandbox) -> None:
        super().__init__()
        self.sandbox = sandbox
        self.seen_at_plan: int | None = None

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage().startswith("Plan: "):
            self.seen_at_plan = len(self.sandbox.requests)


@pytest.fixture
def plan_watcher(sandbox: LitmosSandbox) -> t.Iterator[_PlanWatcher]:
    watcher = _PlanWatcher(sandbox)
    logger = logging.getLogger("tap-litmos")
    logger.addHandler(watcher)
    level = logger.level
    logger.setLevel(logging.INFO)
    yield watcher
    logger.removeHandler(watcher)
    logger.setLevel(level)


@pytest.mark.unit
@pytest.mark.parametrize("page_size", [1000, 3])
def test_the_plan_comes_before_any_request_and_its_windows_are_exact(
    sandbox: LitmosSandbox,
    config: dict,
    caplog: pytest.LogCaptureFixture,
    plan_watcher: _PlanWatcher,
    page_size: int,
) -> None:
    caplog.set_level(logging.INFO)
    config = {**config, "start_date": six_months_ago(), "page_size": page_size}
    run = sync(config)
    assert plan_watcher.seen_at_plan == 0
    figures = summary_of(messages(caplog))
    (plan_line,) = [m for m in messages(caplog) if m.startswith("Plan: ")]
    planned = int(re.search(r"at least ([\d,]+) requests", plan_line)[1].replace(",", ""))
    assert planned == figures["planned_requests"]
    served = len(sandbox.requests)
    assert figures["requests"] == served
    for stream in WINDOW_STREAMS:
        figure = figures["streams"][stream]
        walked = [r for r in requests_to(sandbox, stream) if r["params"].get("start") == "0"]
        # One first page per planned window, exactly; more pages only past page_size.
        assert figure["planned_windows"] == figure["windows"] == len(walked), stream
        assert figure["requests"] == len(requests_to(sandbox, stream)), stream
        assert figure["rows"] == emitted(run).get(stream, 0), stream
    if page_size == 1000:  # no list of this account fills a page: the plan is the run
        assert served == planned
    else:
        assert served > planned


@pytest.mark.unit
def test_without_a_start_date_the_plan_waits_for_the_one_request_that_finds_the_start(
    sandbox: LitmosSandbox, config: dict, plan_watcher: _PlanWatcher
) -> None:
    sync(config, catalog=catalog_selecting(config, "course_results"))
    assert plan_watcher.seen_at_plan == 1
    probe = sandbox.requests[0]
    assert (probe["path"], probe["params"]["sort"]) == ("/v1.svc/users/details", "CreatedDate")


@pytest.mark.unit
def test_the_plan_line_says_how_long_the_requests_take_at_the_budget(
    sandbox: LitmosSandbox, config: dict, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    config = {**config, "start_date": six_months_ago(), "max_requests_per_minute": 90}
    sync(config, catalog=catalog_selecting(config, "course_results", "users"))
    (plan_line,) = [m for m in messages(caplog) if m.startswith("Plan: ")]
    windows = len(requests_to(sandbox, "course_results"))
    planned = windows + 1
    assert plan_line.startswith("Plan: 2 streams (course_results, users): ")
    assert f"at least {planned} requests ({windows} for the 7-day windows of 1 stream " in plan_line
    assert plan_line.endswith(f"about {duration(planned / 90 * 60)} at 90 requests a minute")


# --- The summary against the request log and the records --------------------------------


@pytest.mark.unit
def test_the_summary_counts_rows_requests_retries_and_nulls_as_they_happened(
    sandbox: LitmosSandbox,
    config: dict,
    caplog: pytest.LogCaptureFixture,
    retry_sleeps: list[float],
) -> None:
    caplog.set_level(logging.INFO)
    truth = sandbox.truth("course_results")
    bad = truth[0]
    sandbox.set_raw("course_results", (bad["UserId"], bad["Id"]), "PercentageComplete", "n/a")
    sandbox.inject("500", 2, after=3)  # the 4th and 5th requests fail once each
    config = {**config, "start_date": six_months_ago()}
    streams = ("users", "teams", "course_results", "achievements")
    run = sync(config, catalog=catalog_selecting(config, *streams))
    figures = summary_of(messages(caplog))

    assert figures["status"] == "succeeded"
    assert set(figures["streams"]) == set(streams)
    faulted = [r for r in sandbox.requests if r["fault"] == "500"]
    assert len(faulted) == 2
    records = emitted(run)
    for stream in streams:
        figure = figures["streams"][stream]
        served = requests_to(sandbox, stream)
        assert figure["requests"] == len(served), stream
        assert figure["retries"] == sum(r["fault"] == "500" for r in served), stream
        assert figure["rows"] == records.get(stream, 0), stream
    assert figures["retries"] == 2 == len(retry_sleeps)
    assert figures["requests"] == len(sandbox.requests)
    assert figures["rows"] == sum(records.values())
    in_window = [r for r in truth if r["UpdatedDate"] >= dt.datetime.fromisoformat(
        config["start_date"]).replace(tzinfo=dt.timezone.utc)]  # fmt: skip
    assert figures["streams"]["course_results"]["bad_values"] == int(bad in in_window)
    # The table says the same, one line per stream and the totals.
    table = [m for m in messages(caplog) if m.startswith("  ")]
    assert len(table) == 1 + len(streams) + 1
    (total,) = [m for m in table if m.startswith("  total ")]
    assert total.split()[1:3] == [f"{figures['rows']:,}", str(figures["requests"])]


@pytest.mark.unit
def test_a_failed_run_still_ends_with_its_summary_naming_the_stream(
    sandbox: LitmosSandbox, config: dict, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    sandbox.configure(forbidden=["course_results"])
    config = {**config, "start_date": six_months_ago()}
    catalog = catalog_selecting(config, "users", "course_results", "teams")
    with pytest.raises(Exception, match="HTTP 403"):
        sync(config, catalog=catalog)
    figures = summary_of(messages(caplog))
    assert (figures["status"], figures["failed_stream"]) == ("failed", "course_results")
    assert figures["streams"]["course_results"]["status"] == "failed"
    # Streams run in name order: the two after it never started.
    for stream in ("teams", "users"):
        assert figures["streams"][stream]["status"] == "planned"
        assert figures["streams"][stream]["requests"] == 0
    assert figures["requests"] == len(sandbox.requests) == 1
    assert any(m.startswith("Summary: failed in course_results") for m in messages(caplog))


# --- Progress lines: on a slow run, and their cadence on a fake clock --------------------


@pytest.mark.unit
def test_a_slow_stream_gets_progress_lines(
    sandbox: LitmosSandbox, config: dict, caplog: pytest.LogCaptureFixture
) -> None:
    """Every answer takes 20 ms (the sandbox's slow fault); the run's clock goes 200 times
    faster, so each request is 4 s to the progress lines and the interval passes."""
    caplog.set_level(logging.INFO)
    sandbox.configure(fault_rate=1.0, fault_kinds=["slow"], slow_seconds=0.02)
    started = time.monotonic()

    def fast_clock() -> float:
        return started + (time.monotonic() - started) * 200

    config = {**config, "start_date": six_months_ago()}
    sync(config, catalog=catalog_selecting(config, "course_results"), clock=fast_clock)
    lines = [m for m in messages(caplog) if m.startswith("course_results: ") and " windows, " in m]
    progress = [m for m in lines if "run: " in m]
    assert progress, lines
    done = [int(re.match(r"course_results: (\d+) of (\d+) windows", m)[1]) for m in progress]
    assert done == sorted(done) and done[-1] < 27
    assert all(" to go, about " in m and m.endswith(" left") for m in progress)


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _stream(name: str) -> t.Any:
    return types.SimpleNamespace(name=name, parent_stream_type=None, child_streams=[])


@pytest.mark.unit
def test_progress_lines_come_after_30_s_and_at_most_every_30_s(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="progress-test")
    clock = _Clock()
    progress = RunProgress(logging.getLogger("progress-test"), requests_per_minute=60, clock=clock)
    plans = [
        StreamPlan("quick", "7-day windows", 10, 10, "2026-01-01T00:00:00.000Z"),
        StreamPlan("slow", "7-day windows", 100, 100, "2026-01-01T00:00:00.000Z"),
    ]
    progress.plan(plans)
    said: list[tuple[float, str]] = []

    def walk(name: str, windows: int, seconds_each: float) -> None:
        with progress.syncing(_stream(name)):
            for _ in range(windows):
                clock.now += seconds_each
                before = len(caplog.records)
                progress.request_sent(name)
                said.extend((clock.now, r.getMessage()) for r in caplog.records[before:])
                progress.window_done(name)

    walk("quick", 10, 2.5)  # 25 s in all: never a progress line
    walk("slow", 100, 1.0)  # 100 s: lines at 30, 60 and 90 s into it
    lines = [(at, m) for at, m in said if "run: " in m]
    assert [m.split(":")[0] for _, m in lines] == ["slow"] * 3
    assert [round(at - 1025) for at, _ in lines] == [30, 60, 90]
    first = lines[0][1]
    # The 30th window's request is out: 70 windows to go at a page each. The run's pace
    # so far (55 s for 40 requests) is slower than the budget's (1 s each): 96 s.
    assert first == (
        "slow: 29 of 100 windows, 0 rows, 30 requests in 30 s; run: 40 requests sent,"
        " at least 70 to go, about 1 min 36 s left"
    )
    assert lines[-1][1].endswith("100 requests sent, at least 10 to go, about 12 s left")


@pytest.mark.unit
def test_requests_left_follow_the_pages_per_window_so_far() -> None:
    clock = _Clock()
    progress = RunProgress(logging.getLogger("progress-test"), requests_per_minute=0, clock=clock)
    progress.plan([StreamPlan("w", "7-day windows", 10, 10, "2026-01-01T00:00:00.000Z")])
    with progress.syncing(_stream("w")):
        for _ in range(4):  # three pages per window so far
            for _ in range(3):
                progress.request_sent("w")
            progress.window_done("w")
        assert progress.requests_left() == 6 * 3
        progress.request_sent("w")  # the fifth window's first page
        assert progress.requests_left() == 6 * 3 - 1


# --- Quiet by default, loud on request -------------------------------------------------------


@pytest.mark.unit
def test_sdk_chatter_is_demoted_to_debug_not_lost(
    sandbox: LitmosSandbox, config: dict, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    config = {**config, "start_date": six_months_ago()}
    sync(config, catalog=catalog_selecting(config, "course_results", "ilt_session_days"))
    chatter = [r for r in caplog.records if r.getMessage().startswith("Pagination stopped")]
    assert chatter
    assert {r.levelname for r in chatter} == {"DEBUG"}
    begun = [r for r in caplog.records if r.getMessage().startswith("Beginning sync of")]
    assert {r.levelname for r in begun} == {"DEBUG"}


@pytest.mark.unit
@pytest.mark.parametrize(("level", "shown"), [(None, False), ("WARNING", False), ("INFO", True)])
def test_metric_lines_follow_metrics_log_level(
    sandbox: LitmosSandbox,
    config: dict,
    caplog: pytest.LogCaptureFixture,
    level: str | None,
    shown: bool,
) -> None:
    caplog.set_level(logging.INFO)
    if level:
        config = {**config, "metrics_log_level": level}
    sync(config, catalog=catalog_selecting(config, "users", "teams"))
    metrics = [r for r in caplog.records if r.getMessage().startswith("METRIC")]
    assert bool(metrics) == shown
    if shown:  # one request-duration line per request, at least
        durations = [r for r in metrics if "http_request_duration" in r.getMessage()]
        assert len(durations) == len(sandbox.requests)
