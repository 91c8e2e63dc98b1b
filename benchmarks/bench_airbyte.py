"""Benchmark: the catalog-economy account read through `source-litmos`, beside `tap-litmos`.

    python benchmarks/bench_airbyte.py
    python benchmarks/bench_airbyte.py --users 1000 --course-results 30000   # a quick look

The account and the two runs are bench_catalog.py's (same sizes, start_date a year
back, no request budget so each run is CPU-bound): (a) a first full sync of the default
catalog, then (b) a small batch of changes and an incremental run from (a)'s state.
Each run is made by both clients against the same sandbox: `tap-litmos` (Singer, stdout
to a file) and `source-litmos read` (Airbyte; the configured catalog as
PyAirbyte writes it: every default stream, `incremental`; state `[]`, then (a)'s
STREAM states as PyAirbyte sends them back).

- Requests: the sandbox's log of each run, per stream. (a) must be the very same
  requests (every path with every query parameter, as a multiset); (b) the same
  number per stream (its windows start at each run's own (a) bookmark, seconds apart).
- Records: RECORD lines per stream, equal between the two and to the ground truth.
- CPU: user + system seconds of the process (wait4), and the Airbyte/Singer ratio of
  their sums; each run is made `--rounds` times (default 2) by each client, the order
  alternating, so a busy machine weighs on both alike. Wall time and peak RSS beside
  them. The sandbox runs in this process, not in the measured ones.

Results go to stdout as markdown tables and to benchmarks/results/airbyte.json.
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import datetime as dt
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench_catalog, beside this file

import bench_catalog as catalog_bench

from litmos_sandbox import LitmosSandbox
from tap_litmos.streams import STREAM_TYPES

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SOURCE = Path(sys.executable).parent / "source-litmos"
API_KEY = catalog_bench.API_KEY
SINGER_RECORD = re.compile(rb'\{"type":"RECORD","stream":"([^"]+)"')
AIRBYTE_RECORD = re.compile(rb'\{"type":"RECORD","record":\{"stream":"([^"]+)"')
POLL_SECONDS = catalog_bench.POLL_SECONDS


@dataclasses.dataclass
class Run:
    """One measured process."""

    cpu_s: float
    wall_s: float
    peak_rss_mb: float
    records: collections.Counter[str]
    state: object  # Singer: the last STATE value; Airbyte: the STREAM states, last per stream
    requests: list[dict]


def measure(cmd: list[str], out: Path, sandbox: LitmosSandbox) -> tuple[float, float, float]:
    """Run `cmd` with stdout to `out`: its CPU seconds, wall seconds and peak RSS (MB)."""
    sandbox.reset_log()
    with out.open("wb") as stdout, out.with_suffix(".log").open("wb") as stderr:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=stdout, stderr=stderr, cwd=ROOT)
        peak = 0.0
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            peak = max(peak, catalog_bench.vm_hwm_mb(proc.pid))
            time.sleep(POLL_SECONDS)
        wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        print(out.with_suffix(".log").read_text()[-3000:], file=sys.stderr)
        print(out.read_text()[-3000:], file=sys.stderr)
        msg = f"{cmd[:2]} failed with exit code {proc.returncode}"
        raise SystemExit(msg)
    return usage.ru_utime + usage.ru_stime, wall, peak


@dataclasses.dataclass
class Runner:
    """Runs both clients against one sandbox with one config."""

    workdir: Path
    config: Path
    catalog: Path
    sandbox: LitmosSandbox

    def singer(self, name: str, state: object) -> Run:
        """`tap-litmos` with the default catalog, from a Singer state (None: first run)."""
        cmd = [sys.executable, "-m", "tap_litmos", "--config", str(self.config)]
        if state:
            cmd += ["--state", str(write(self.workdir / f"{name}.state.json", state))]
        out = self.workdir / f"{name}.jsonl"
        cpu, wall, peak = measure(cmd, out, self.sandbox)
        records: collections.Counter[str] = collections.Counter()
        last = {}
        with out.open("rb") as fh:
            for line in fh:
                if match := SINGER_RECORD.match(line):
                    records[match.group(1).decode()] += 1
                elif line.startswith(b'{"type":"STATE"'):
                    last = json.loads(line)["value"]
        return Run(cpu, wall, peak, records, last, self.sandbox.requests)

    def airbyte(self, name: str, state: object) -> Run:
        """`source-litmos read` of the configured catalog, from an Airbyte state."""
        state_file = write(self.workdir / f"{name}.state.json", state)
        cmd = [str(SOURCE), "read", "--config", str(self.config), "--catalog", str(self.catalog)]
        out = self.workdir / f"{name}.jsonl"
        cpu, wall, peak = measure([*cmd, "--state", str(state_file)], out, self.sandbox)
        records: collections.Counter[str] = collections.Counter()
        states: dict[str, dict] = {}
        with out.open("rb") as fh:
            for line in fh:
                if match := AIRBYTE_RECORD.match(line):
                    records[match.group(1).decode()] += 1
                elif line.startswith(b'{"type":"STATE"'):
                    message = json.loads(line)["state"]
                    states[message["stream"]["stream_descriptor"]["name"]] = message
                elif line.startswith(b'{"type":"TRACE"'):
                    msg = f"{name}: {line[:500]!r}"
                    raise SystemExit(msg)
        # Sent back as PyAirbyte does: the last STATE of each stream, with its extra keys.
        as_sent = [
            {**message, "global_": None, "data": None, "destinationStats": None}
            for message in states.values()
        ]
        return Run(cpu, wall, peak, records, as_sent, self.sandbox.requests)


def write(path: Path, value: object) -> Path:
    path.write_text(json.dumps(value))
    return path


def configured_catalog(config: Path, workdir: Path) -> Path:
    """Every stream discover offers, `incremental`, as PyAirbyte configures a read."""
    found = subprocess.run(
        [str(SOURCE), "discover", "--config", str(config)], capture_output=True, check=True
    )
    (body,) = [json.loads(line)["catalog"] for line in found.stdout.splitlines()
               if line.startswith(b'{"type":"CATALOG"')]  # fmt: skip
    streams = [
        {
            "stream": stream,
            "sync_mode": "incremental",
            "cursor_field": stream.get("default_cursor_field", []),
            "destination_sync_mode": "overwrite",
        }
        for stream in body["streams"]
    ]
    return write(workdir / "configured_catalog.json", {"streams": streams})


def request_key(entry: dict) -> tuple:
    return (
        entry["path"].lower(),
        tuple(sorted((k.lower(), v) for k, v in entry["params"].items())),
    )


def summary(runs: list[Run]) -> dict:
    """What the results file keeps of one client's runs: means of the times, the peak."""
    return {
        "cpu_s": round(statistics.mean(r.cpu_s for r in runs), 2),
        "cpu_s_each": [round(r.cpu_s, 2) for r in runs],
        "wall_s": round(statistics.mean(r.wall_s for r in runs), 2),
        "peak_rss_mb": round(max(r.peak_rss_mb for r in runs), 1),
        "records": sum(runs[0].records.values()),
        "requests": len(runs[0].requests),
    }


def run_both(runner: Runner, name: str, states: tuple[object, object], rounds: int) -> dict:
    """The run made `rounds` times by each client, alternating which goes first."""
    singers: list[Run] = []
    airbytes: list[Run] = []
    for number in range(rounds):
        for client in ("singer", "airbyte")[:: 1 if number % 2 == 0 else -1]:
            if client == "singer":
                singers.append(runner.singer(f"singer-{name}-{number}", states[0]))
            else:
                airbytes.append(runner.airbyte(f"airbyte-{name}-{number}", states[1]))
    return {"singer": singers, "airbyte": airbytes}


def compare(runs: dict[str, list[Run]], *, exact: bool) -> dict:
    """Requests and records of one run made both ways, and the CPU ratio."""
    singer, airbyte = runs["singer"][0], runs["airbyte"][0]
    by_singer = catalog_bench.requests_by_stream(singer.requests)
    by_airbyte = catalog_bench.requests_by_stream(airbyte.requests)
    streams = {}
    for cls in STREAM_TYPES:
        s, a = by_singer.get(cls.name), by_airbyte.get(cls.name)
        streams[cls.name] = {
            "singer_requests": s.count if s else 0,
            "airbyte_requests": a.count if a else 0,
            "singer_records": singer.records.get(cls.name, 0),
            "airbyte_records": airbyte.records.get(cls.name, 0),
        }
    pairs = list(zip(runs["singer"], runs["airbyte"], strict=True))
    if exact:
        same_requests = all(
            collections.Counter(map(request_key, s.requests))
            == collections.Counter(map(request_key, a.requests))
            for s, a in pairs
        )
    else:
        same_requests = all(
            catalog_bench.requests_by_stream(s.requests).keys()
            == catalog_bench.requests_by_stream(a.requests).keys()
            for s, a in pairs
        ) and all(row["singer_requests"] == row["airbyte_requests"] for row in streams.values())
    cpu = {client: sum(r.cpu_s for r in group) for client, group in runs.items()}
    return {
        "singer": summary(runs["singer"]),
        "airbyte": summary(runs["airbyte"]),
        "cpu_ratio": round(cpu["airbyte"] / cpu["singer"], 3),
        "cpu_ratio_each": [round(a.cpu_s / s.cpu_s, 3) for s, a in pairs],
        "same_requests": same_requests,
        "same_records": all(s.records == a.records for s, a in pairs),
        "streams": streams,
    }


def bench(args: argparse.Namespace, workdir: Path) -> dict:
    """Both runs, both ways, against one sandbox account."""
    sizes = {name: getattr(args, name) for name in catalog_bench.SIZES}
    started = time.perf_counter()
    sandbox = LitmosSandbox(**sizes, api_key=API_KEY)
    print(f"sandbox generated in {time.perf_counter() - started:.1f} s", flush=True)
    start = sandbox.world.anchor - dt.timedelta(days=365)
    start_date = start.strftime("%Y-%m-%dT%H:%M:%SZ")
    with sandbox:
        config = write(workdir / "config.json", {
            "api_key": API_KEY, "api_url": sandbox.base_url, "start_date": start_date,
            "max_requests_per_minute": 0,
        })  # fmt: skip
        runner = Runner(workdir, config, configured_catalog(config, workdir), sandbox)
        first_runs = run_both(runner, "first", (None, []), args.rounds)
        first = compare(first_runs, exact=True)
        truth = {
            cls.name: catalog_bench.expected_records(sandbox, cls, start) for cls in STREAM_TYPES
        }
        first["records_equal_truth"] = all(
            run.records.get(name, 0) == count
            for run in first_runs["airbyte"]
            for name, count in truth.items()
        )
        print(f"(a) first sync: CPU ratio {first['cpu_ratio']}", flush=True)

        changes = catalog_bench.apply_changes(sandbox)
        states = (first_runs["singer"][0].state, first_runs["airbyte"][0].state)
        second = compare(run_both(runner, "second", states, args.rounds), exact=False)
        second["changes"] = changes
        print(f"(b) incremental: CPU ratio {second['cpu_ratio']}", flush=True)
    return {
        "python": sys.version.split()[0],
        "sizes": sizes,
        "start_date": start_date,
        "rounds": args.rounds,
        "first_sync": first,
        "incremental": second,
    }


def print_tables(result: dict) -> None:
    print("\n| run | client | requests | records | CPU s (mean; each) | wall s | peak RSS MB |")
    print("|---|---|---|---|---|---|---|")
    for label, run in (
        ("(a) first sync", result["first_sync"]),
        ("(b) incremental", result["incremental"]),
    ):
        for client in ("singer", "airbyte"):
            r = run[client]
            name = "tap-litmos" if client == "singer" else "source-litmos read"
            each = ", ".join(map(str, r["cpu_s_each"]))
            print(f"| {label} | {name} | {r['requests']:,} | {r['records']:,} | {r['cpu_s']}"
                  f" ({each}) | {r['wall_s']} | {r['peak_rss_mb']} |")  # fmt: skip
    print("\n| run | CPU ratio (Airbyte / Singer) | same requests | same records |")
    print("|---|---|---|---|")
    for label, run in (
        ("(a) first sync", result["first_sync"]),
        ("(b) incremental", result["incremental"]),
    ):
        same = "identical" if label.startswith("(a)") else "same count per stream"
        each = ", ".join(map(str, run["cpu_ratio_each"]))
        print(f"| {label} | {run['cpu_ratio']} (rounds: {each}) | {run['same_requests']}"
              f" ({same}) | {run['same_records']} |")  # fmt: skip
    print(f"\n(a) records equal the ground truth: {result['first_sync']['records_equal_truth']}")
    for label, run in (("(a)", result["first_sync"]), ("(b)", result["incremental"])):
        for name, row in run["streams"].items():
            if row["singer_requests"] != row["airbyte_requests"] or (
                row["singer_records"] != row["airbyte_records"]
            ):
                print(f"{label} {name} differs: {row}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name, default in catalog_bench.SIZES.items():
        flag = "--" + name.replace("_", "-")
        parser.add_argument(flag, type=int, default=default, help=f"default {default:,}")
    parser.add_argument(
        "--rounds", type=int, default=2, help="runs of each client per run (order alternates)"
    )
    parser.add_argument(
        "--output", type=Path, default=HERE / "results" / "airbyte.json", help="results file"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        result = bench(args, Path(tmp))
    print_tables(result)
    args.output.parent.mkdir(exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    ok = all(result[run][key] for run in ("first_sync", "incremental")
             for key in ("same_requests", "same_records"))  # fmt: skip
    if not (ok and result["first_sync"]["records_equal_truth"]):
        msg = "source-litmos and tap-litmos differ (see above)"
        raise SystemExit(msg)


if __name__ == "__main__":
    main()
