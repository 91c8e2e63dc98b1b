"""Benchmark: a fleet of Litmos accounts on one machine, each tap at its own key's budget.

    python benchmarks/bench_fleet.py                      # N = 1, 5, 20; about 25 minutes
    python benchmarks/bench_fleet.py --fleet 2 --days 28  # a quick look (about 1 minute)
    python benchmarks/bench_fleet.py --fleet 40 --users 2000 --achievements 50000

For each fleet size N, N accounts run together. Each account is a sandbox process of its
own (`litmos_sandbox.process.spawn()`: its own port, key and data, seed 1 + its index)
that enforces Litmos's limit on its key: 100 requests in any 60 s, the 101st answered 503
without Retry-After. Each account has its own tap process (the `tap-litmos` console
script beside this interpreter), its own config, state file and output file; every tap
names one `rate_limit_backend` file (a fleet on one machine shares one, as production
does) and keeps the default `max_requests_per_minute` (90): the budget is kept per key,
so no account waits for another's.

(a) First sync of the default catalog from `--days` (365) back.
(b) The nightly incremental: the next night, from (a)'s final STATE, after a few changes
    in every account (new achievements and users, touched course results). "The next
    night": each sandbox forgets its throttle window and the taps get a new budget file.

Per N and phase: wall time (first launch to last exit); the slowest account's own time
against its budget time (its requests / 90 a minute); CPU seconds per tap (user + system,
`os.wait4`); peak RSS per tap (VmHWM, sampled) and of all taps together (the sum of
their VmRSS, sampled); 503s (from every sandbox's request log: must be 0); and whether
every account's records equal its own sandbox's truth (per stream, the set of primary
keys; (a): the truth from the start date, (b): (a) and (b) together equal the truth
after the changes, snapshots equal it on their own, and every changed row is re-read).

Markdown table on stdout; every figure, per account too, in benchmarks/results/fleet.json.
The sandboxes share the machine with the taps (they play Litmos); their CPU is not counted.
"""

from __future__ import annotations

import argparse
import collections
import concurrent.futures
import datetime as dt
import json
import os
import re
import shlex
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))  # run from anywhere

from litmos_sandbox.process import SpawnedSandbox, spawn  # noqa: E402
from tap_litmos.patterns import DateWindowStream, DescendingSinceStream  # noqa: E402
from tap_litmos.settings import value as setting_default  # noqa: E402
from tap_litmos.streams import STREAM_TYPES  # noqa: E402

THROTTLE_PER_MINUTE = 100  # Litmos's limit per API key
HTTP_THROTTLED = 503
BUDGET_PER_MINUTE = int(setting_default({}, "max_requests_per_minute"))  # the tap's default, 90
PROCESS_TIMEOUT_SECONDS = 3600.0
SAMPLE_SECONDS = 0.25  # how often memory is read while the taps run
RECORD_LINE = re.compile(rb'\{"type":"RECORD","stream":"([^"]+)"')
#: The default catalog: every stream selected by default (the fan-outs are off).
DEFAULT_STREAMS = [cls for cls in STREAM_TYPES if cls.selected_by_default]
#: Changes in every account before the nightly run.
ADDED_ACHIEVEMENTS = 5
ADDED_USERS = 2
TOUCHED_RESULTS = 5


def tap_command() -> str:
    """The real `tap-litmos` console script: beside this interpreter, else .venv's."""
    for candidate in (Path(sys.executable).parent / "tap-litmos", ROOT / ".venv/bin/tap-litmos"):
        if candidate.exists():
            return str(candidate)
    msg = "tap-litmos is not installed: run `python3 run_tests.py --co -q` first (builds .venv)"
    raise SystemExit(msg)


# --- One account: its sandbox (admin API over HTTP) -----------------------------------------


def admin(sandbox: SpawnedSandbox, path: str, payload: dict | None = None) -> Any:
    """GET (no payload) or POST a sandbox admin route; its JSON answer."""
    url = f"{sandbox.admin_url}/{path}"
    data = None if payload is None else json.dumps(payload).encode()
    request = urllib.request.Request(url, data=data, method="GET" if data is None else "POST")
    with urllib.request.urlopen(request) as response:
        return json.load(response)


def key_of(cls: type, row: dict) -> str:
    """A row's primary key as text (the same for a tap record and a truth row)."""
    return "|".join(str(row[name]) for name in cls.primary_keys)


def replication_date(cls: type, row: dict) -> dt.datetime | None:
    """The row's replication-key value (truth JSON `...Z` or the tap's canonical UTC)."""
    text = row.get(cls.replication_key or "")
    if not text:
        return None
    return dt.datetime.fromisoformat(str(text).replace("Z", "+00:00"))


def read_by_date(cls: type) -> bool:
    """Whether the stream reads from a date (its truth is cut at the start date)."""
    return issubclass(cls, (DateWindowStream, DescendingSinceStream))


def truth_keys(sandbox: SpawnedSandbox, since: dt.datetime) -> dict[str, set[str]]:
    """Per default stream, the keys of the rows a run from `since` must emit."""
    out = {}
    for cls in DEFAULT_STREAMS:
        rows = admin(sandbox, f"truth?stream={cls.name}")
        if read_by_date(cls):
            rows = [r for r in rows if (replication_date(cls, r) or since) >= since]
        out[cls.name] = {key_of(cls, r) for r in rows}
    return out


def apply_changes(sandbox: SpawnedSandbox) -> dict[str, set[str]]:
    """The night's changes: new achievements and users, touched course results."""
    admin(sandbox, "achievements", {"count": ADDED_ACHIEVEMENTS})
    for _ in range(ADDED_USERS):
        admin(sandbox, "add", {"stream": "users"})
    results = admin(sandbox, "truth?stream=course_results")
    cls = next(c for c in DEFAULT_STREAMS if c.name == "course_results")
    touched = set()
    for row in results[:: max(len(results) // TOUCHED_RESULTS, 1)][:TOUCHED_RESULTS]:
        key = [row[name] for name in cls.primary_keys]
        admin(
            sandbox, "touch", {"stream": "course_results", "key": key[0] if len(key) == 1 else key}
        )
        touched.add(key_of(cls, row))
    return {"course_results": touched}


# --- One account's tap process -------------------------------------------------------------


class TapProcess:
    """One account's tap: config, state and output files, and what its process used."""

    def __init__(self, index: int, sandbox: SpawnedSandbox, workdir: Path) -> None:
        """Files only; nothing runs yet."""
        self.index = index
        self.sandbox = sandbox
        self.dir = workdir / f"account-{index:03d}"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.pid = 0
        self.exit_code: int | None = None
        self.seconds = 0.0
        self.cpu_s = 0.0
        self.peak_rss_mb = 0.0
        self.rss_mb = 0.0  # the last sample (for the fleet's sum)

    def launch(self, phase: str, config: dict[str, Any], state: dict | None) -> None:
        """Start `tap-litmos --config ... [--state ...]`, stdout and stderr to files."""
        self.phase = phase
        config_path = self.dir / f"{phase}.config.json"
        config_path.write_text(json.dumps(config))
        cmd = [tap_command(), "--config", str(config_path)]
        if state is not None:
            state_path = self.dir / f"{phase}.state.json"
            state_path.write_text(json.dumps(state))
            cmd += ["--state", str(state_path)]
        self.out_path = self.dir / f"{phase}.singer.jsonl"
        self.err_path = self.dir / f"{phase}.stderr.log"
        env = {**os.environ, "TAP_LITMOS_LOGLEVEL": "INFO"}  # INFO: the summary line
        with self.out_path.open("wb") as out, self.err_path.open("wb") as err:
            self.started = time.perf_counter()
            self.pid = os.posix_spawn(cmd[0], cmd, env, file_actions=[
                (os.POSIX_SPAWN_DUP2, out.fileno(), 1),
                (os.POSIX_SPAWN_DUP2, err.fileno(), 2),
            ])  # fmt: skip
        self.exit_code = None
        self.peak_rss_mb = self.rss_mb = 0.0

    def wait(self) -> None:
        """Reap the process: its exit code, time and CPU (`os.wait4`'s rusage)."""
        _, status, usage = os.wait4(self.pid, 0)
        self.seconds = time.perf_counter() - self.started
        self.exit_code = os.waitstatus_to_exitcode(status)
        self.cpu_s = usage.ru_utime + usage.ru_stime

    def sample(self) -> None:
        """Read the running process's VmHWM and VmRSS (nothing once it has exited)."""
        if self.exit_code is not None:
            self.rss_mb = 0.0
            return
        try:
            status = Path(f"/proc/{self.pid}/status").read_text()
        except OSError:
            return
        hwm = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
        rss = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
        if hwm:
            self.peak_rss_mb = max(self.peak_rss_mb, int(hwm.group(1)) / 1024)
        self.rss_mb = int(rss.group(1)) / 1024 if rss else 0.0

    def output(self) -> tuple[dict[str, set[str]], collections.Counter[str], dict]:
        """Keys per stream, RECORD lines per stream, and the last STATE of its stdout."""
        classes = {cls.name: cls for cls in STREAM_TYPES}
        keys: dict[str, set[str]] = collections.defaultdict(set)
        counts: collections.Counter[str] = collections.Counter()
        state: dict = {}
        with self.out_path.open("rb") as fh:
            for line in fh:
                match = RECORD_LINE.match(line)
                if match:
                    message = json.loads(line)
                    cls = classes[message["stream"]]
                    keys[cls.name].add(key_of(cls, message["record"]))
                    counts[cls.name] += 1
                elif line.startswith(b'{"type":"STATE"'):
                    state = json.loads(line)["value"]
        return keys, counts, state

    def summary(self) -> dict:
        """The tap's own summary (its last `SUMMARY: {...}` line on stderr), else {}."""
        found = {}
        for line in self.err_path.read_text(errors="replace").splitlines():
            if "SUMMARY: " in line:
                found = json.loads(line.split("SUMMARY: ", 1)[1])
        return found


def run_together(
    taps: list[TapProcess], phase: str, configs: list[dict], states: list[dict | None]
) -> dict:
    """Launch every tap at once, sample memory while they run, reap them all."""
    started = time.perf_counter()
    for tap, config, state in zip(taps, configs, states, strict=True):
        tap.launch(phase, config, state)
    waiters = [threading.Thread(target=tap.wait) for tap in taps]
    for waiter in waiters:
        waiter.start()
    fleet_peak = 0.0
    while any(waiter.is_alive() for waiter in waiters):
        for tap in taps:
            tap.sample()
        fleet_peak = max(fleet_peak, sum(tap.rss_mb for tap in taps))
        time.sleep(SAMPLE_SECONDS)
        if time.perf_counter() - started > PROCESS_TIMEOUT_SECONDS:
            for tap in taps:
                if tap.exit_code is None:
                    os.kill(tap.pid, 9)  # only the processes this benchmark started
    for waiter in waiters:
        waiter.join()
    return {"wall_s": time.perf_counter() - started, "fleet_peak_rss_mb": fleet_peak}


# --- One fleet size --------------------------------------------------------------------------


def start_accounts(n: int, args: argparse.Namespace) -> list[SpawnedSandbox]:
    """N sandbox processes, started in parallel: own key, own seed, throttling like Litmos."""
    sizes = {
        "users": args.users,
        "achievements": args.achievements,
        "courses": args.courses,
        "teams": args.teams,
        "learning_paths": args.learning_paths,
        "course_results": args.course_results,
    }

    def one(index: int) -> SpawnedSandbox:
        return spawn(
            seed=1 + index,
            api_key=f"fleet-key-{index:03d}",
            throttle_per_minute=THROTTLE_PER_MINUTE,
            throttle_status=HTTP_THROTTLED,
            **{k: v for k, v in sizes.items() if v is not None},
        )

    with concurrent.futures.ThreadPoolExecutor(max_workers=min(n, 8)) as pool:
        return list(pool.map(one, range(n)))


def account_config(sandbox: SpawnedSandbox, start_date: str, backend: str | None) -> dict[str, Any]:
    """One account's config: its key and sandbox, the start date, the shared budget file."""
    config: dict[str, Any] = {
        "api_key": sandbox.api_key,
        "api_url": sandbox.base_url,
        "start_date": start_date,
    }
    if backend:
        config["rate_limit_backend"] = backend
    return config


def measure_phase(  # noqa: PLR0913
    phase: str,
    taps: list[TapProcess],
    *,
    states: list[dict | None],
    start_date: str,
    backend: str | None,
    expected: list[dict[str, Any]],
) -> dict:
    """Run one phase for the whole fleet; read every sandbox log and every output."""
    for tap in taps:
        admin(tap.sandbox, "clear-faults", {})  # a new night: the throttle window forgotten
        tap.sandbox.reset_log()
    configs = [account_config(t.sandbox, start_date, backend) for t in taps]
    print(f"  ({phase}) {len(taps)} tap(s) running ...", flush=True)
    together = run_together(taps, phase, configs, states)
    accounts = []
    for tap, want in zip(taps, expected, strict=True):
        log = tap.sandbox.requests()
        keys, counts, state = tap.output()
        ok = sum(e["status"] == 200 for e in log)  # noqa: PLR2004
        account = {
            "account": tap.index,
            "exit_code": tap.exit_code,
            "seconds": round(tap.seconds, 2),
            "requests": len(log),
            "ok": ok,
            "throttled_503": sum(e["status"] == HTTP_THROTTLED for e in log),
            "budget_s": round(len(log) * 60 / BUDGET_PER_MINUTE, 1),
            "cpu_s": round(tap.cpu_s, 2),
            "peak_rss_mb": round(tap.peak_rss_mb, 1),
            "records": dict(counts),
            "budget_waited_s": tap.summary().get("budget_waited_seconds"),
            "mismatches": want["check"](keys),
        }
        account["truth_equal"] = not account["mismatches"] and tap.exit_code == 0
        accounts.append(account)
        tap.state = state
        tap.keys = keys
    slowest = max(accounts, key=lambda a: a["seconds"])
    return {
        "phase": phase,
        "n": len(taps),
        "wall_s": round(together["wall_s"], 1),
        "slowest_s": slowest["seconds"],
        "slowest_budget_s": slowest["budget_s"],
        "requests_per_account": sorted({a["requests"] for a in accounts}),
        "records": sum(sum(a["records"].values()) for a in accounts),
        "cpu_s_mean": round(sum(a["cpu_s"] for a in accounts) / len(accounts), 2),
        "cpu_s_max": max(a["cpu_s"] for a in accounts),
        "peak_rss_mb_max": max(a["peak_rss_mb"] for a in accounts),
        "fleet_peak_rss_mb": round(together["fleet_peak_rss_mb"], 1),
        "throttled_503": sum(a["throttled_503"] for a in accounts),
        "truth_equal": sum(a["truth_equal"] for a in accounts),
        "load_avg_1m_after": round(os.getloadavg()[0], 2),
        "accounts": accounts,
    }


def first_check(truth: dict[str, set[str]]) -> Any:
    """(a): every default stream's keys equal the truth from the start date."""

    def check(keys: dict[str, set[str]]) -> dict[str, str]:
        return {
            name: f"{len(keys.get(name, set()))} keys, truth {len(want)}"
            for name, want in truth.items()
            if keys.get(name, set()) != want
        }

    return check


def nightly_check(
    first: dict[str, set[str]], truth: dict[str, set[str]], changed: dict[str, set[str]]
) -> Any:
    """(b): with (a), the truth after the changes; snapshots alone; every changed row read."""
    by_date = {cls.name for cls in DEFAULT_STREAMS if read_by_date(cls)}

    def check(keys: dict[str, set[str]]) -> dict[str, str]:
        problems = {}
        for name, want in truth.items():
            mine = keys.get(name, set())
            got = mine | first.get(name, set()) if name in by_date else mine
            if got != want:
                problems[name] = f"{len(got)} keys, truth {len(want)}"
            missed = changed.get(name, set()) - mine
            if missed:
                problems[name] = f"{len(missed)} changed rows not re-read"
        return problems

    return check


def run_fleet(n: int, args: argparse.Namespace, workdir: Path) -> list[dict]:
    """Both phases for a fleet of N accounts."""
    print(f"N = {n}: starting {n} sandbox account(s) ...", flush=True)
    began = time.perf_counter()
    sandboxes = start_accounts(n, args)
    try:
        print(f"  started in {time.perf_counter() - began:.1f} s", flush=True)
        today = dt.datetime.now(dt.timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
        start = today - dt.timedelta(days=args.days)
        start_date = start.strftime("%Y-%m-%dT%H:%M:%SZ")
        taps = [TapProcess(i, s, workdir / f"n{n}") for i, s in enumerate(sandboxes)]
        backend = None if args.backend == "in-process" else str(workdir / f"n{n}-a.budget")
        first_truth = [truth_keys(s, start) for s in sandboxes]
        expected = [{"check": first_check(t)} for t in first_truth]
        first = measure_phase(
            "a", taps, states=[None] * n, start_date=start_date, backend=backend, expected=expected
        )
        report(first)

        changed = [apply_changes(s) for s in sandboxes]
        expected = [
            {"check": nightly_check(tap.keys, truth_keys(s, start), c)}
            for tap, s, c in zip(taps, sandboxes, changed, strict=True)
        ]
        backend = None if args.backend == "in-process" else str(workdir / f"n{n}-b.budget")
        states = [tap.state for tap in taps]
        nightly = measure_phase(
            "b", taps, states=states, start_date=start_date, backend=backend, expected=expected
        )
        report(nightly)
    finally:
        for sandbox in sandboxes:
            sandbox.stop()
    return [first, nightly]


def report(result: dict) -> None:
    """One line of progress per phase, and the mismatches if any."""
    print(
        f"  ({result['phase']}) wall {result['wall_s']} s, slowest {result['slowest_s']} s"
        f" (budget {result['slowest_budget_s']} s), 503s {result['throttled_503']},"
        f" truth {result['truth_equal']}/{result['n']}",
        flush=True,
    )
    for account in result["accounts"]:
        if not account["truth_equal"]:
            print(f"    account {account['account']}: exit {account['exit_code']},"
                  f" {account['mismatches']}")  # fmt: skip


# --- Reporting -------------------------------------------------------------------------------


def markdown_table(results: list[dict]) -> str:
    """Every fleet size and phase as one markdown table."""
    header = [
        "N",
        "run",
        "requests per account",
        "wall s",
        "slowest account s",
        "its budget s",
        "CPU s per tap (max)",
        "budget wait s per tap",
        "peak RSS MB per tap",
        "peak RSS MB all taps",
        "503s",
        "records",
        "accounts = truth",
    ]
    lines = ["| " + " | ".join(header) + " |", "|--:|:--|" + "--:|" * (len(header) - 2)]
    for r in results:
        reqs = r["requests_per_account"]
        cells = [
            str(r["n"]),
            "(a) first sync" if r["phase"] == "a" else "(b) nightly",
            f"{reqs[0]}" if len(reqs) == 1 else f"{reqs[0]}-{reqs[-1]}",
            f"{r['wall_s']:.1f}",
            f"{r['slowest_s']:.1f}",
            f"{r['slowest_budget_s']:.1f}",
            f"{r['cpu_s_mean']:.1f} ({r['cpu_s_max']:.1f})",
            waits(r),
            f"{r['peak_rss_mb_max']:.0f}",
            f"{r['fleet_peak_rss_mb']:.0f}",
            str(r["throttled_503"]),
            f"{r['records']:,}",
            f"{r['truth_equal']}/{r['n']}",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def waits(result: dict) -> str:
    """The taps' own figure of time waited for the budget (their summary): min-max."""
    found = [a["budget_waited_s"] or 0.0 for a in result["accounts"]]
    low, high = min(found), max(found)
    return f"{low:.0f}" if round(low) == round(high) else f"{low:.0f}-{high:.0f}"


def main() -> None:
    """Run every fleet size, print the table, write the results file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fleet", type=int, nargs="+", default=[1, 5, 20],
                        help="fleet sizes, each run on its own (default: 1 5 20)")  # fmt: skip
    parser.add_argument("--days", type=int, default=365, help="start_date this many days back")
    parser.add_argument("--users", type=int, default=1000, help="users per account (1000)")
    parser.add_argument("--achievements", type=int, default=20_000, help="per account (20000)")
    parser.add_argument("--courses", type=int, default=50, help="per account (50)")
    parser.add_argument("--teams", type=int, default=20, help="per account (20)")
    parser.add_argument("--learning-paths", type=int, default=10, help="per account (10)")
    parser.add_argument(
        "--course-results", type=int, default=None, help="per account (default 4 per user)"
    )
    parser.add_argument(
        "--backend",
        choices=["file", "in-process"],
        default="file",
        help="file: every tap names one rate_limit_backend file (default); in-process: none",
    )
    parser.add_argument("--out", type=Path, default=HERE / "results" / "fleet.json")
    args = parser.parse_args()
    command = "python " + shlex.join(["benchmarks/bench_fleet.py", *sys.argv[1:]])
    tap_command()

    began = time.perf_counter()
    results: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="bench-fleet-") as tmp:
        for n in args.fleet:
            results += run_fleet(n, args, Path(tmp))
    total = time.perf_counter() - began
    table = markdown_table(results)
    print(
        f"\nEach account: {args.users} users, {args.achievements} achievements,"
        f" {args.courses} courses, {args.teams} teams, {args.learning_paths} learning paths;"
        f" start_date {args.days} days back; {THROTTLE_PER_MINUTE} requests/min per key"
        f" (503 beyond); tap budget {BUDGET_PER_MINUTE}/min, backend {args.backend}."
        f" Command: `{command}` ({total / 60:.1f} min in all)\n"
    )
    print(table)
    out = {
        "command": command,
        "when": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "python": sys.version.split()[0],
        "cpus": os.cpu_count(),
        "total_s": round(total, 1),
        "account": {
            "users": args.users,
            "achievements": args.achievements,
            "courses": args.courses,
            "teams": args.teams,
            "learning_paths": args.learning_paths,
            "course_results": args.course_results,
            "days": args.days,
        },
        "throttle_per_minute": THROTTLE_PER_MINUTE,
        "tap_budget_per_minute": BUDGET_PER_MINUTE,
        "backend": args.backend,
        "table": table,
        "results": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2) + "\n")
    if not all(r["throttled_503"] == 0 and r["truth_equal"] == r["n"] for r in results):
        sys.exit(1)


if __name__ == "__main__":
    main()
