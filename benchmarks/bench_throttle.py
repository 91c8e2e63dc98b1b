"""Benchmark: the tap's request budget against a sandbox that throttles like Litmos.

    python benchmarks/bench_throttle.py                        # both scenarios, ~4 minutes
    python benchmarks/bench_throttle.py --scenario single --achievements 100000
    python benchmarks/bench_throttle.py --scenario pair --latency 0.5   # a slower server

The sandbox runs in this process and enforces 100 requests in any 60 s per API key,
answering the 101st with 503 and no Retry-After (docs/litmos-api.md §7). Its render caches
are warmed first, with throttling off. The tap runs as real processes
(`python -m tap_litmos --config ... --catalog ...`, stdout to a file, stderr captured),
with the tap's own catalog (`--discover`) narrowed to the `achievements` stream:

- single: one tap at its defaults (budget 90 a minute, in-process), all achievements;
- pair: two taps on the same key at the same time, each given half of the users
  (`user_ids`), once sharing a `rate_limit_backend` file ("shared") and once each with
  its own in-process budget ("separate": up to 2 x 90 a minute against the 100).

Between runs the sandbox forgets its throttle window (`clear_faults()`), so one run
never throttles the next. Requests, 503s and their times are read from the sandbox's
request log; records are counted in the taps' output and checked against the
sandbox's truth (the same AchievementIds, none missing, none twice; every request
to /achievements).

- ideal s = successful requests / 90 a minute (the tap's default budget);
- floor s = the least time the budget allows: its window is sliding, so the first 90
  requests may go at once, and n requests need 60 s x floor((n - 1) / 90);
- ideal/wall >= 0.95 is the target (above 1 when the burst makes wall < ideal);
- requests/min = successful requests per minute of wall time;
- busiest 60 s = the most successful requests the sandbox saw in any 60 s.

Markdown tables go to stdout and, with every measurement, to
benchmarks/results/throttle.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shlex
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from bisect import bisect_left
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # run from anywhere: the sandbox is imported here

from litmos_sandbox import LitmosSandbox  # noqa: E402

API_KEY = "bench-throttle-key"
THROTTLE_PER_MINUTE = 100  # Litmos's limit per API key
WINDOW_SECONDS = 60.0
BUDGET_PER_MINUTE = 90  # the tap's default max_requests_per_minute
THROTTLE_WAIT_SECONDS = 60  # what the tap waits after a 503 without Retry-After
TARGET_RATIO = 0.95
TARGET_SHARED_THROUGHPUT = 0.9 * BUDGET_PER_MINUTE
PROCESS_TIMEOUT_SECONDS = 600.0
ACHIEVEMENTS_PATH = "/v1.svc/achievements"
HTTP_OK = 200
HTTP_THROTTLED = 503


# --- The sandbox ------------------------------------------------------------------------


def start_sandbox(achievements: int, users: int, seed: int, latency: float) -> LitmosSandbox:
    """A started sandbox with warm render caches, throttling 100 a minute per key.

    `latency` > 0 delays every answer by that many seconds (the "slow" fault on every
    request), as a real server's response time would.
    """
    sandbox = LitmosSandbox(
        seed=seed, users=users, achievements=achievements, api_key=API_KEY
    ).start()
    start = 0
    while True:  # every page once, unthrottled, so no run pays for rendering rows first
        url = f"{sandbox.base_url}/achievements?source=warm&format=json&limit=1000&start={start}"
        request = urllib.request.Request(url, headers={"apikey": API_KEY})
        with urllib.request.urlopen(request) as response:
            rows = len(json.load(response))
        start += rows
        if rows < 1000:  # noqa: PLR2004
            break
    sandbox.configure(
        throttle_per_minute=THROTTLE_PER_MINUTE,
        throttle_window_seconds=WINDOW_SECONDS,
        throttle_status=HTTP_THROTTLED,
        retry_after=None,
    )
    if latency > 0:
        sandbox.configure(slow_seconds=latency, fault_rate=1.0, fault_kinds=["slow"])
    fresh_window(sandbox)
    return sandbox


def fresh_window(sandbox: LitmosSandbox) -> None:
    """Forget the throttle window and the request log: the next run starts clean."""
    sandbox.clear_faults()
    sandbox.reset_log()


# --- Running taps -----------------------------------------------------------------------


def achievements_catalog(config: dict[str, Any], workdir: Path) -> Path:
    """The tap's own catalog (`--discover`) with only `achievements` selected."""
    config_path = workdir / "discover.config.json"
    config_path.write_text(json.dumps(config))
    found = subprocess.run(
        [sys.executable, "-m", "tap_litmos", "--config", str(config_path), "--discover"],
        capture_output=True,
        check=True,
        cwd=HERE.parent,
    )
    catalog = json.loads(found.stdout)
    for entry in catalog["streams"]:
        wanted = entry["tap_stream_id"] == "achievements"
        for item in entry["metadata"]:
            if item["breadcrumb"] == [] or wanted:
                item["metadata"]["selected"] = wanted
    path = workdir / "catalog.json"
    path.write_text(json.dumps(catalog))
    return path


class TapRun:
    """One tap process: its config, output files and what it did."""

    def __init__(self, name: str, config: dict[str, Any], workdir: Path) -> None:
        """Write the config; nothing runs yet."""
        self.name = name
        self.config = config
        self.catalog_path = workdir / "catalog.json"
        self.config_path = workdir / f"{name}.config.json"
        self.out_path = workdir / f"{name}.singer.jsonl"
        self.err_path = workdir / f"{name}.stderr.log"
        self.config_path.write_text(json.dumps(config))
        self.proc: subprocess.Popen | None = None
        self.exit_code: int | None = None
        self.ended = 0.0

    def launch(self) -> None:
        """Start `python -m tap_litmos --config ...`, stdout and stderr to files."""
        env = {**os.environ, "TAP_LITMOS_LOGLEVEL": "INFO"}  # INFO: the budget wait line
        with self.out_path.open("wb") as out, self.err_path.open("wb") as err:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "tap_litmos",
                    "--config",
                    str(self.config_path),
                    "--catalog",
                    str(self.catalog_path),
                ],
                stdout=out,
                stderr=err,
                env=env,
                cwd=HERE.parent,
            )

    def wait(self) -> None:
        """Wait for the process (killing it after the timeout); note when it ended."""
        assert self.proc is not None  # noqa: S101
        try:
            self.exit_code = self.proc.wait(timeout=PROCESS_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            self.proc.kill()  # only the process this benchmark started, by its id
            self.exit_code = self.proc.wait()
        self.ended = time.time()

    def record_ids(self) -> list[int]:
        """The AchievementId of every RECORD line the tap wrote."""
        with self.out_path.open("rb") as fh:
            return [
                json.loads(line)["record"]["AchievementId"]
                for line in fh
                if line.startswith(b'{"type":"RECORD"')
            ]

    def log_facts(self) -> dict[str, Any]:
        """From stderr: throttle retries, the highest attempt, seconds waited for the budget."""
        retries = throttle_retries = highest_attempt = 0
        budget_waited = 0.0
        text = self.err_path.read_text(errors="replace")
        for line in text.splitlines():
            if "Retrying" in line and "(attempt " in line:
                retries += 1
                throttle_retries += "HTTP 503" in line or "HTTP 429" in line
                attempt = line.split("(attempt ", 1)[1].split(" ", 1)[0]
                highest_attempt = max(highest_attempt, int(attempt))
            if "for the request budget" in line and "Waited " in line:
                budget_waited += float(line.split("Waited ", 1)[1].split(" ", 1)[0])
        tail = text.strip().splitlines()[-5:] if self.exit_code else []
        return {
            "retries": retries,
            "throttle_retries": throttle_retries,
            "highest_attempt": highest_attempt,
            "budget_waited_s": budget_waited,
            "stderr_tail": tail,
        }


def run_together(runs: list[TapRun]) -> tuple[float, float]:
    """Launch every run at once and wait for all: (launched at, wall seconds)."""
    started = time.time()
    for run in runs:
        run.launch()
    waiters = [threading.Thread(target=run.wait) for run in runs]
    for waiter in waiters:
        waiter.start()
    for waiter in waiters:
        waiter.join()
    return started, max(run.ended for run in runs) - started


def busiest_window(times: list[float], window: float = WINDOW_SECONDS) -> int:
    """The most of `times` (sorted) that fall in any `window` seconds."""
    return max(
        (i + 1 - bisect_left(times, t - window + 1e-9, 0, i + 1) for i, t in enumerate(times)),
        default=0,
    )


def scenario(  # noqa: PLR0913
    label: str,
    kind: str,
    *,
    sandbox: LitmosSandbox,
    configs: dict[str, dict[str, Any]],
    expected_ids: set[int],
    workdir: Path,
) -> dict[str, Any]:
    """Run the taps of one scenario together; measure it from the sandbox's log."""
    fresh_window(sandbox)
    runs = [TapRun(name, config, workdir) for name, config in configs.items()]
    print(f"running {label}: {len(runs)} process(es) ...", flush=True)
    started, wall = run_together(runs)
    log = sandbox.requests
    fresh_window(sandbox)

    processes = []
    all_ids: list[int] = []
    for run in runs:
        source = run.config.get("source", "tap-litmos")
        mine = [e for e in log if e["params"].get("source") == source]
        ids = run.record_ids()
        all_ids += ids
        processes.append(
            {
                "name": run.name,
                "exit_code": run.exit_code,
                "wall_s": round(run.ended - started, 2),
                "requests": len(mine),
                "ok": sum(e["status"] == HTTP_OK for e in mine),
                "throttled": sum(e["status"] == HTTP_THROTTLED for e in mine),
                "records": len(ids),
                "user_ids": len(run.config.get("user_ids") or []),
                "max_retries": run.config.get("max_retries", 5),
                "rate_limit_backend": "file"
                if run.config.get("rate_limit_backend")
                else "in-process",
                "arrivals_s": [round(e["time"] - started, 2) for e in mine],
                "throttled_at_s": [
                    round(e["time"] - started, 2) for e in mine if e["status"] == HTTP_THROTTLED
                ],
                **run.log_facts(),
            }
        )

    ok_times = sorted(e["time"] for e in log if e["status"] == HTTP_OK)
    ok = len(ok_times)
    ideal = ok * 60.0 / BUDGET_PER_MINUTE
    floor = WINDOW_SECONDS * ((ok - 1) // BUDGET_PER_MINUTE) if ok else 0.0
    nth = [round(t - started, 2) for t in ok_times]
    return {
        "scenario": label,
        "kind": kind,
        "processes": len(runs),
        "requests": len(log),
        "ok": ok,
        "throttled": sum(e["status"] == HTTP_THROTTLED for e in log),
        "other_statuses": sorted({e["status"] for e in log} - {HTTP_OK, HTTP_THROTTLED}),
        "paths": sorted({e["path"] for e in log}),
        "wall_s": round(wall, 2),
        "ideal_s": round(ideal, 2),
        "ideal_over_wall": round(ideal / wall, 3),
        "budget_floor_s": floor,
        "requests_per_min": round(ok / wall * 60, 1),
        "busiest_60s": busiest_window(ok_times),
        "records": len(all_ids),
        "expected_records": len(expected_ids),
        "records_match": len(all_ids) == len(set(all_ids))
        and set(all_ids) == expected_ids
        and {e["path"] for e in log} == {ACHIEVEMENTS_PATH},
        "all_exit_0": all(run.exit_code == 0 for run in runs),
        "first_request_s": nth[0] if nth else None,
        "request_90_s": nth[BUDGET_PER_MINUTE - 1] if ok >= BUDGET_PER_MINUTE else None,
        "request_91_s": nth[BUDGET_PER_MINUTE] if ok > BUDGET_PER_MINUTE else None,
        "last_request_s": nth[-1] if nth else None,
        "process_details": processes,
    }


# --- Scenarios ----------------------------------------------------------------------------


def base_config(sandbox: LitmosSandbox, page_size: int) -> dict[str, Any]:
    """What every run names: the key, the sandbox and the page size (1000 is the default)."""
    return {"api_key": API_KEY, "api_url": sandbox.base_url, "page_size": page_size}


def run_single(sandbox: LitmosSandbox, args: argparse.Namespace, workdir: Path) -> dict:
    """One tap at its defaults over the whole account."""
    expected = {row["AchievementId"] for row in sandbox.truth()}
    configs = {"single": base_config(sandbox, args.page_size)}
    return scenario(
        "single, defaults",
        "single",
        sandbox=sandbox,
        configs=configs,
        expected_ids=expected,
        workdir=workdir,
    )


def run_pair(sandbox: LitmosSandbox, args: argparse.Namespace, workdir: Path) -> list[dict]:
    """Two taps on one key at once, half of the users each: shared budget, then separate."""
    users = [user_id for user_id, _, _ in sandbox.dataset.users]
    halves = {"a": users[: len(users) // 2], "b": users[len(users) // 2 :]}
    wanted = set(users)
    expected = {row["AchievementId"] for row in sandbox.truth() if row["UserId"] in wanted}
    results = []
    for shared in (True, False):
        configs = {}
        budget_file = workdir / f"budget-{int(time.time() * 1000)}.db"  # a new, empty window
        for half, user_ids in halves.items():
            config = {
                **base_config(sandbox, args.page_size),
                "source": f"bench-{half}",
                "user_ids": user_ids,
            }
            if shared:
                config["rate_limit_backend"] = str(budget_file)
            elif args.separate_max_retries is not None:
                config["max_retries"] = args.separate_max_retries
            configs[f"pair-{'shared' if shared else 'separate'}-{half}"] = config
        label = "pair, shared file budget" if shared else "pair, separate in-process budgets"
        kind = "pair-shared" if shared else "pair-separate"
        results.append(
            scenario(
                label,
                kind,
                sandbox=sandbox,
                configs=configs,
                expected_ids=expected,
                workdir=workdir,
            )
        )
    return results


# --- Reporting ----------------------------------------------------------------------------


def markdown_table(results: list[dict], *, time_lost: bool) -> str:
    """The results as one markdown table."""
    header = [
        "scenario",
        "processes",
        "requests",
        "503s",
        "wall s",
        "ideal s",
        "floor s",
        "ideal/wall",
        "requests/min",
        "busiest 60 s",
        "records",
    ]
    if time_lost:
        header.append("time lost s")
    lines = ["| " + " | ".join(header) + " |", "|:--|" + "--:|" * (len(header) - 1)]
    shared_wall = next((r["wall_s"] for r in results if r["kind"] == "pair-shared"), None)
    for r in results:
        records = f"{r['records']:,}" + (
            " (= truth)" if r["records_match"] else f" (truth {r['expected_records']:,}: MISMATCH)"
        )
        cells = [
            r["scenario"],
            str(r["processes"]),
            str(r["requests"]),
            str(r["throttled"]),
            f"{r['wall_s']:.1f}",
            f"{r['ideal_s']:.1f}",
            f"{r['budget_floor_s']:.0f}",
            f"{r['ideal_over_wall']:.2f}",
            f"{r['requests_per_min']:.1f}",
            str(r["busiest_60s"]),
            records,
        ]
        if time_lost:
            lost = (
                "-"
                if r["kind"] == "pair-shared" or shared_wall is None
                else f"{r['wall_s'] - shared_wall:+.1f}"
            )
            cells.append(lost)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def targets(results: list[dict]) -> list[str]:
    """One line per target of the issue: the measured value and PASS or FAIL."""
    out = []
    for r in results:
        if r["kind"] == "single":
            out.append(
                _verdict(
                    f"single: ideal/wall {r['ideal_over_wall']:.2f} >= {TARGET_RATIO}",
                    r["ideal_over_wall"] >= TARGET_RATIO,
                )
            )
            out.append(_verdict(f"single: 503s {r['throttled']} == 0", r["throttled"] == 0))
        if r["kind"] == "pair-shared":
            out.append(_verdict(f"pair, shared: 503s {r['throttled']} == 0", r["throttled"] == 0))
            out.append(
                _verdict(
                    f"pair, shared: {r['requests_per_min']:.1f} requests/min >="
                    f" {TARGET_SHARED_THROUGHPUT:g}",
                    r["requests_per_min"] >= TARGET_SHARED_THROUGHPUT,
                )
            )
        if r["kind"] == "pair-separate":
            waits = sum(p["throttle_retries"] for p in r["process_details"])
            out.append(
                f"pair, separate: {r['throttled']} x 503, {waits} throttle waits of"
                f" {THROTTLE_WAIT_SECONDS} s (highest attempt"
                f" {max(p['highest_attempt'] for p in r['process_details'])} of"
                f" {r['process_details'][0]['max_retries'] + 1})"
            )
        out.append(
            _verdict(
                f"{r['scenario']}: records {r['records']:,} =="
                f" truth {r['expected_records']:,}, every process exit 0",
                r["records_match"] and r["all_exit_0"],
            )
        )
    return out


def _verdict(text: str, ok: bool) -> str:  # noqa: FBT001
    return f"{'PASS' if ok else 'FAIL'}  {text}"


def main() -> None:
    """Run the chosen scenarios, print the tables, write the results file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", choices=["single", "pair", "all"], default="all")
    parser.add_argument("--achievements", type=int, default=100_000)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--page-size", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--latency",
        type=float,
        default=0.0,
        help="seconds the sandbox takes to answer each request (default 0: at once)",
    )
    parser.add_argument(
        "--separate-max-retries",
        type=int,
        default=None,
        help="max_retries of the taps without a shared budget (default: the tap's, 5)",
    )
    parser.add_argument("--out", type=Path, default=HERE / "results" / "throttle.json")
    args = parser.parse_args()
    command = "python " + shlex.join(["benchmarks/bench_throttle.py", *sys.argv[1:]])

    began = time.perf_counter()
    sandbox = start_sandbox(args.achievements, args.users, args.seed, args.latency)
    results: list[dict] = []
    try:
        with tempfile.TemporaryDirectory(prefix="bench-throttle-") as tmp:
            achievements_catalog(base_config(sandbox, args.page_size), Path(tmp))
            if args.scenario in ("single", "all"):
                results.append(run_single(sandbox, args, Path(tmp)))
            if args.scenario in ("pair", "all"):
                results += run_pair(sandbox, args, Path(tmp))
    finally:
        sandbox.stop()
    total = time.perf_counter() - began

    tables = {}
    single = [r for r in results if r["kind"] == "single"]
    pair = [r for r in results if r["kind"] != "single"]
    if single:
        tables["single"] = markdown_table(single, time_lost=False)
    if pair:
        tables["pair"] = markdown_table(pair, time_lost=True)
    verdicts = targets(results)
    print(
        f"\nSandbox: {THROTTLE_PER_MINUTE} requests / {WINDOW_SECONDS:g} s per key, 503"
        f" without Retry-After; {args.achievements:,} achievements, {args.users} users,"
        f" page_size {args.page_size}, latency {args.latency:g} s."
        f" Command: `{command}` ({total:.0f} s in all)"
    )
    for table in tables.values():
        print("\n" + table)
    print("\n" + "\n".join(verdicts))

    out = {
        "command": command,
        "when": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "python": sys.version.split()[0],
        "cpus": os.cpu_count(),
        "total_s": round(total, 1),
        "sandbox": {
            "throttle_per_minute": THROTTLE_PER_MINUTE,
            "window_s": WINDOW_SECONDS,
            "throttle_status": HTTP_THROTTLED,
            "retry_after": None,
            "achievements": args.achievements,
            "users": args.users,
            "seed": args.seed,
            "latency_s": args.latency,
        },
        "page_size": args.page_size,
        "tap_budget_per_minute": BUDGET_PER_MINUTE,
        "tables": tables,
        "targets": verdicts,
        "results": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2) + "\n")
    if not all(r["records_match"] and r["all_exit_0"] for r in results):
        sys.exit(1)


if __name__ == "__main__":
    main()
