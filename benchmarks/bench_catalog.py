"""Benchmark: request economy of the default catalog, a first sync and an incremental run.

    python benchmarks/bench_catalog.py
    python benchmarks/bench_catalog.py --users 1000 --course-results 30000   # a quick look

The sandbox runs in this process with one account (default: 10 000 users, 500 courses,
200 teams, 100 learning paths, 300 000 course results, 200 000 achievements; its /org/*
changes fall in the year before today's UTC midnight). The tap runs as a subprocess
(`python -m tap_litmos`, default catalog, no request budget so the run is CPU-bound),
stdout to a file whose RECORD lines are counted per stream; its requests are read from
the sandbox's log and given to streams by the `path` of the tap's own stream classes.

(a) First full sync with `start_date` one year back. Target per stream: a snapshot
    ceil(rows / 1000) (+1 when rows is an exact multiple: the empty page that ends it),
    a date-window stream ceil(records / 1000) + the number of 7-day windows in the span,
    achievements ceil(records / 1000) + 1.
(b) A small batch of changes (touch course results, remove team memberships, add
    achievements and users), then a run from (a)'s final STATE. Target: at most 2
    requests per default stream.
(c) What both runs take at Litmos's real budget (requests / 90 a minute), beside a
    per-user fan-out (`/users/{id}/courses` + `/users/{id}/learningpaths` per user,
    plus the user, course and learning-path lists).

Records are also checked against the sandbox's ground truth. Results go to stdout as
markdown tables and to benchmarks/results/catalog.json. Tap wall times are whole
processes (start-up included) and include waiting for the sandbox, which shares the machine.
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import datetime as dt
import json
import math
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from litmos_sandbox import LitmosSandbox
from tap_litmos.patterns import (
    ONE_SECOND,
    DateWindowStream,
    DescendingSinceStream,
    FanOutStream,
)
from tap_litmos.settings import MAX_PAGE_SIZE
from tap_litmos.streams import STREAM_TYPES

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
API_KEY = "bench-key"
API_PREFIX = "/v1.svc"
PAGE = MAX_PAGE_SIZE
#: Litmos allows 100 requests a minute; the tap's default budget keeps 10 in reserve.
BUDGET_PER_MINUTE = 90
#: What one window covers: 7 days less the 2 seconds the tap asks for on its edges.
WINDOW = DateWindowStream.MAX_SPAN - 2 * ONE_SECOND
INCREMENTAL_TARGET = 2
HTTP_OK = 200
#: Query parameters every list request carries (the rest are filters).
PAGING_PARAMS = {"source", "start", "limit", "format"}
#: Not a catalog stream: the one page of /users/details (sorted by CreatedDate) that the
#: date-window streams start from when there is no start_date. It should not happen here.
PROBE = "earliest_users_probe"
RECORD_LINE = re.compile(rb'\{"type":"RECORD","stream":"([^"]+)"')
MINUTES_PER_HOUR = 60
#: How often the tap's peak memory is read while it runs.
POLL_SECONDS = 0.02

#: The account (sandbox size options), as in the catalog issue.
SIZES = {
    "users": 10_000,
    "courses": 500,
    "teams": 200,
    "learning_paths": 100,
    "course_results": 300_000,
    "achievements": 200_000,
}
#: The batch of changes before the incremental run.
TOUCHED_RESULTS = 50
REMOVED_MEMBERSHIPS = 10
ADDED_ACHIEVEMENTS = 20
ADDED_USERS = 5

StreamClass = type  # a LitmosStream subclass from STREAM_TYPES


# --- streams -----------------------------------------------------------------------------


def read_as(cls: StreamClass) -> str:
    """How the tap reads the stream (its access pattern)."""
    if issubclass(cls, FanOutStream):
        return "per parent, opt-in"
    if issubclass(cls, DateWindowStream):
        return "7-day windows"
    if issubclass(cls, DescendingSinceStream):
        return "newest first, since"
    if cls.parent_stream_type is not None:
        return f"inside {cls.parent_stream_type.name} pages"
    return "snapshot"


def path_pattern(path: str) -> re.Pattern[str]:
    """A stream's `path` template as a regular expression (`{Id}` is one segment)."""
    parts = re.split(r"\{[^}]+\}", path)
    return re.compile("[^/]+".join(re.escape(p) for p in parts), re.IGNORECASE)


#: (pattern, stream) in STREAM_TYPES order: a path shared by two streams belongs to the
#: first, the one that requests it (ilt_session_days comes inside ilt_sessions' pages).
ROUTES = [(path_pattern(cls.path), cls.name) for cls in STREAM_TYPES]


def stream_of(entry: dict) -> str:
    """The stream a logged request was made for."""
    path = entry["path"].rstrip("/")
    if path.lower().startswith(API_PREFIX):
        path = path[len(API_PREFIX) :]
    for pattern, name in ROUTES:
        if pattern.fullmatch(path):
            params = {k.lower() for k in entry["params"]}
            return PROBE if name == "users" and "sort" in params else name
    return f"unknown {path}"


@dataclasses.dataclass
class Requests:
    """One stream's requests in one run, from the sandbox log."""

    count: int = 0
    failed: int = 0
    rows: collections.Counter[str] = dataclasses.field(default_factory=collections.Counter)
    windows: set[tuple[str, str]] = dataclasses.field(default_factory=set)
    entries: list[dict] = dataclasses.field(default_factory=list)

    def describe(self) -> str:
        """What was asked, per path: start offsets, filters and rows (to explain a FAIL)."""
        by_path: dict[str, list[dict]] = collections.defaultdict(list)
        for entry in self.entries:
            by_path[entry["path"]].append(entry)
        parts = []
        for path, entries in by_path.items():
            params = [{k.lower(): v for k, v in e["params"].items()} for e in entries]
            starts = [int(p.get("start") or 0) for p in params]
            filters = sorted({k for p in params for k in p} - PAGING_PARAMS)
            parts.append(
                f"{len(entries)} x GET {path} start {min(starts)}..{max(starts)},"
                f" filters: {', '.join(filters) or 'none'},"
                f" rows {sum(e['rows'] or 0 for e in entries):,}"
                f" (last page {entries[-1]['rows']})"
            )
        return "; ".join(parts)


def requests_by_stream(log: list[dict]) -> dict[str, Requests]:
    """The log's requests by stream: count, failures, rows per path, distinct windows."""
    out: dict[str, Requests] = collections.defaultdict(Requests)
    for entry in log:
        reqs = out[stream_of(entry)]
        reqs.count += 1
        reqs.entries.append(entry)
        reqs.failed += entry["status"] != HTTP_OK
        reqs.rows[entry["path"].lower()] += entry["rows"] or 0
        params = {k.lower(): v for k, v in entry["params"].items()}
        if "to" in params:
            reqs.windows.add((params.get("since", ""), params["to"]))
    return out


# --- the tap -----------------------------------------------------------------------------


@dataclasses.dataclass
class TapRun:
    """One tap process: its time, memory, records per stream and final state."""

    wall_s: float
    peak_rss_mb: float
    records: collections.Counter[str]
    state: dict
    finished: dt.datetime


def run_tap(workdir: Path, name: str, config: Path, state: Path | None = None) -> TapRun:
    """Run the tap with stdout to a file; time it and follow its peak RSS."""
    cmd = [sys.executable, "-m", "tap_litmos", "--config", str(config)]
    if state is not None:
        cmd += ["--state", str(state)]
    out, err = workdir / f"{name}.jsonl", workdir / f"{name}.log"
    peak = 0.0
    with out.open("wb") as stdout, err.open("wb") as stderr:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=stdout, stderr=stderr, cwd=ROOT)
        # Not wait4()'s ru_maxrss: Linux carries the forking process's peak (this one
        # holds the sandbox, ~500 MB) over exec into the child's. VmHWM is the tap's own.
        while proc.poll() is None:
            peak = max(peak, vm_hwm_mb(proc.pid))
            time.sleep(POLL_SECONDS)
        wall = time.perf_counter() - started
    if proc.returncode != 0:
        print(err.read_text()[-3000:], file=sys.stderr)
        msg = f"the tap failed ({name}) with exit code {proc.returncode}"
        raise SystemExit(msg)
    records, final_state = read_output(out)
    finished = dt.datetime.now(dt.timezone.utc)
    return TapRun(wall, peak, records, final_state, finished)


def vm_hwm_mb(pid: int) -> float:
    """A live process's peak resident memory so far (VmHWM), in MB; 0 once it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    match = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
    return int(match.group(1)) / 1024 if match else 0.0


def read_output(path: Path) -> tuple[collections.Counter[str], dict]:
    """RECORD lines per stream and the last STATE of a tap's stdout."""
    records: collections.Counter[str] = collections.Counter()
    state: dict = {}
    with path.open("rb") as fh:
        for line in fh:
            match = RECORD_LINE.match(line)
            if match:
                records[match.group(1).decode()] += 1
            elif line.startswith(b'{"type":"STATE"'):
                state = json.loads(line)["value"]
    return records, state


# --- targets and ground truth ---------------------------------------------------------------


def pages(rows: int) -> int:
    """Requests to read a list of `rows`: a short page ends it (so +1 on exact multiples)."""
    return rows // PAGE + 1


def first_sync_target(cls: StreamClass, records: int, reqs: Requests, windows: int) -> int:
    """The most requests (a) may make for the stream."""
    if issubclass(cls, FanOutStream):
        return 0  # off by default
    if issubclass(cls, DateWindowStream):
        return math.ceil(records / PAGE) + windows
    if issubclass(cls, DescendingSinceStream):
        return math.ceil(records / PAGE) + 1
    if cls.parent_stream_type is not None:
        return 0  # its rows come inside the parent's pages
    # A snapshot: each list it reads (ilt_sessions reads two), by the rows on the wire.
    return max(sum(pages(rows) for rows in reqs.rows.values()), 1)


def naive_utc(text: str) -> dt.datetime:
    """A bookmark or start_date as the sandbox's naive UTC wall clock."""
    return dt.datetime.fromisoformat(text).astimezone(dt.timezone.utc).replace(tzinfo=None)


def expected_records(sandbox: LitmosSandbox, cls: StreamClass, since: dt.datetime) -> int:
    """The sandbox's rows the stream should emit when it reads from `since`."""
    if issubclass(cls, FanOutStream):
        return 0
    if cls.name == "achievements":
        return sandbox.dataset.count(since=since)
    table = sandbox.world.table(cls.name)
    if issubclass(cls, DateWindowStream):
        return len(table.window(since, sandbox.now(), lo_incl=True, hi_incl=True))
    return len(table.rows)


def since_of(cls: StreamClass, state: dict, start: dt.datetime) -> dt.datetime:
    """Where a run with `state` starts reading the stream (lookback_days is 0)."""
    bookmark = state.get("bookmarks", {}).get(cls.name, {}).get("replication_key_value")
    return max(naive_utc(bookmark), start) if bookmark else start


# --- one run -------------------------------------------------------------------------------


def stream_rows(
    sandbox: LitmosSandbox,
    run: TapRun,
    log: list[dict],
    since: dict[str, dt.datetime],
    target: dict[str, int] | None,
) -> dict[str, dict]:
    """Per stream: records (and truth), requests, windows and its target.

    `since` is where each stream starts reading; `target` None means the first sync's
    bounds (windows: the 7-day windows from start_date to the end of the run), else
    {stream: bound}.
    """
    reqs = requests_by_stream(log)
    start = min(since.values())
    windows = math.ceil((run.finished.replace(tzinfo=None) - start) / WINDOW)
    rows = {}
    for cls in STREAM_TYPES:
        r = reqs.get(cls.name, Requests())
        records = run.records.get(cls.name, 0)
        bound = (
            first_sync_target(cls, records, r, windows)
            if target is None
            else target.get(cls.name, INCREMENTAL_TARGET)
        )
        rows[cls.name] = {
            "read_as": read_as(cls),
            "default": cls.selected_by_default,
            "records": records,
            "expected_records": expected_records(sandbox, cls, since[cls.name]),
            "requests": r.count,
            "failed_requests": r.failed,
            "windows": len(r.windows),
            "wire_rows": sum(r.rows.values()),
            "target": bound,
            "pass": r.count <= bound and r.failed == 0,
        }
        if not rows[cls.name]["pass"]:
            rows[cls.name]["requests_seen"] = r.describe()
    known = {cls.name for cls in STREAM_TYPES}
    for name, r in reqs.items():
        if name not in known:  # the probe, or a request no stream explains
            rows[name] = {"requests": r.count, "records": 0, "target": 0, "pass": False,
                          "requests_seen": r.describe()}  # fmt: skip
    return rows


def summarize(run: TapRun, streams: dict[str, dict], users: int, lists: int) -> dict:
    """One run's totals, its time at the real budget and that of a per-user fan-out."""
    requests = sum(s["requests"] for s in streams.values())
    fan_out = 2 * users + lists
    return {
        "records": sum(run.records.values()),
        "requests": requests,
        "target": sum(s["target"] for s in streams.values()),
        "wall_s": round(run.wall_s, 2),
        "peak_rss_mb": round(run.peak_rss_mb, 1),
        "budget_minutes": round(requests / BUDGET_PER_MINUTE, 1),
        "fan_out_requests": fan_out,
        "fan_out_minutes": round(fan_out / BUDGET_PER_MINUTE, 1),
        "probe_requests": streams.get(PROBE, {}).get("requests", 0),
        "streams": streams,
    }


def fan_out_lists(sandbox: LitmosSandbox) -> int:
    """Pages of the lists a per-user client reads first: users, courses, learning paths."""
    tables = ("users", "courses", "learning_paths")
    return sum(pages(len(sandbox.world.table(name).rows)) for name in tables)


def apply_changes(sandbox: LitmosSandbox) -> dict[str, int]:
    """The small batch of changes before the incremental run, spread over each table."""
    results = list(sandbox.world.table("course_results").rows)
    for key in results[:: len(results) // TOUCHED_RESULTS][:TOUCHED_RESULTS]:
        sandbox.touch("course_results", key)
    members = sandbox.world.table("team_users")
    active = members.ep.pos("Active")
    keys = [key for key, row in members.rows.items() if row[active]]
    for key in keys[:: len(keys) // REMOVED_MEMBERSHIPS][:REMOVED_MEMBERSHIPS]:
        sandbox.remove_link("team_users", key)
    sandbox.add_achievements(ADDED_ACHIEVEMENTS)
    for _ in range(ADDED_USERS):
        sandbox.add("users")
    return {
        "course_results": TOUCHED_RESULTS,
        "team_users": REMOVED_MEMBERSHIPS,
        "achievements": ADDED_ACHIEVEMENTS,
        "users": ADDED_USERS,
    }


def bench(args: argparse.Namespace, workdir: Path) -> dict:
    """Both runs against one sandbox account."""
    sizes = {name: getattr(args, name) for name in SIZES}
    started = time.perf_counter()
    sandbox = LitmosSandbox(**sizes, api_key=API_KEY)
    print(f"sandbox generated in {time.perf_counter() - started:.1f} s", flush=True)
    start = sandbox.world.anchor - dt.timedelta(days=365)  # the year of changes
    start_date = start.strftime("%Y-%m-%dT%H:%M:%SZ")
    with sandbox:
        config = workdir / "config.json"
        config.write_text(json.dumps({
            "api_key": API_KEY, "api_url": sandbox.base_url, "start_date": start_date,
            "max_requests_per_minute": 0,
        }))  # fmt: skip
        sandbox.reset_log()
        first = run_tap(workdir, "first", config)
        print(f"(a) first sync: {first.wall_s:.1f} s", flush=True)
        since = {cls.name: start for cls in STREAM_TYPES}
        first_streams = stream_rows(sandbox, first, sandbox.requests, since, None)
        first_summary = summarize(first, first_streams, args.users, fan_out_lists(sandbox))

        changes = apply_changes(sandbox)
        state = workdir / "state.json"
        state.write_text(json.dumps(first.state))
        sandbox.reset_log()
        second = run_tap(workdir, "incremental", config, state)
        print(f"(b) incremental run: {second.wall_s:.1f} s", flush=True)
        since = {cls.name: since_of(cls, first.state, start) for cls in STREAM_TYPES}
        bounds = {cls.name: 0 if issubclass(cls, FanOutStream) else INCREMENTAL_TARGET
                  for cls in STREAM_TYPES}  # fmt: skip
        second_streams = stream_rows(sandbox, second, sandbox.requests, since, bounds)
        users = len(sandbox.world.table("users").rows)
        second_summary = summarize(second, second_streams, users, fan_out_lists(sandbox))
        second_summary["changes"] = changes
    return {
        "python": sys.version.split()[0],
        "sizes": sizes,
        "start_date": start_date,
        "page_size": PAGE,
        "budget_per_minute": BUDGET_PER_MINUTE,
        "first_sync": first_summary,
        "incremental": second_summary,
    }


# --- report --------------------------------------------------------------------------------


def minutes(value: float) -> str:
    """Minutes, with hours beside them when there are many."""
    if value >= MINUTES_PER_HOUR:
        return f"{value:,.1f} min ({value / MINUTES_PER_HOUR:.1f} h)"
    return f"{value:,.1f} min"


def records_cell(row: dict) -> str:
    """Records, with the ground truth beside them when they differ."""
    text = f"{row['records']:,}"
    expected = row.get("expected_records", row["records"])
    return text if expected == row["records"] else f"{text} (truth {expected:,})"


def verdict(row: dict) -> str:
    """PASS or FAIL (a failed request fails the stream too)."""
    return "PASS" if row["pass"] else "FAIL"


def print_tables(result: dict) -> None:
    """The two markdown tables: per stream, then per run."""
    first, second = result["first_sync"], result["incremental"]
    changes = second["changes"]
    print(
        "\n| stream | read as | (a) records | (a) requests (target) | (a) |"
        " (b) changed | (b) records | (b) requests (target) | (b) |"
    )
    print("|" + "---|" * 9)
    for name, a in first["streams"].items():
        b = second["streams"].get(name, {"records": 0, "requests": 0, "target": 0, "pass": True})
        read = a.get("read_as", "not a stream")
        if a.get("windows"):
            read += f" ({a['windows']})"
        if a.get("default") is False:
            read += " (off)"
        print(
            f"| {name} | {read} | {records_cell(a)} | {a['requests']:,} ({a['target']:,})"
            f" | {verdict(a)} | {changes.get(name, '')} | {records_cell(b)}"
            f" | {b['requests']:,} ({b['target']}) | {verdict(b)} |"
        )
    print(
        f"| **total** | | {first['records']:,} | {first['requests']:,} ({first['target']:,})"
        f" | | {sum(changes.values())} | {second['records']:,}"
        f" | {second['requests']:,} ({second['target']}) | |"
    )
    print(
        f"\n| run | records | requests | tap s | tap peak RSS MB"
        f" | at {BUDGET_PER_MINUTE} requests/min | per-user fan-out requests"
        f" | fan-out at {BUDGET_PER_MINUTE}/min |"
    )
    print("|" + "---|" * 8)
    for label, run in (("(a) first full sync", first), ("(b) incremental", second)):
        print(
            f"| {label} | {run['records']:,} | {run['requests']:,} | {run['wall_s']}"
            f" | {run['peak_rss_mb']} | {minutes(run['budget_minutes'])}"
            f" | {run['fan_out_requests']:,} | {minutes(run['fan_out_minutes'])} |"
        )
    print(
        f"\nstart_date {result['start_date']}; earliest-users probe requests:"
        f" (a) {first['probe_requests']}, (b) {second['probe_requests']}"
    )
    for label, run in (("(a)", first), ("(b)", second)):
        for name, row in run["streams"].items():
            if not row["pass"]:
                print(f"{label} {name} over its target: {row['requests_seen']}")


def main() -> None:
    """Run the benchmark once and report it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name, default in SIZES.items():
        flag = "--" + name.replace("_", "-")
        parser.add_argument(flag, type=int, default=default, help=f"default {default:,}")
    parser.add_argument(
        "--output", type=Path, default=HERE / "results" / "catalog.json", help="results file"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        result = bench(args, Path(tmp))
    print_tables(result)
    args.output.parent.mkdir(exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
