"""Benchmark: the tap against the Litmos sandbox, beside a minimal baseline client.

    python benchmarks/bench_achievements.py                  # 200 000 achievements
    python benchmarks/bench_achievements.py --sizes 200000 1000000 --format json xml

For each size the sandbox runs in its own process (no throttling), then:
- the tap (`tap-litmos`, a full sync, stdout to a file) is timed, its peak RSS read
  with wait4(), its RECORD lines counted and its HTTP requests read from the sandbox;
- a baseline (requests + json over the same pages, printing one JSON line per row)
  does the same, so the ratio tells what the tap's extra work costs.
Requests are the scarce resource: the target is ceil(N / page_size) (+ at most one).
Results go to stdout as a table and to benchmarks/results/latest.json.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from litmos_sandbox import spawn

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
API_KEY = "bench-key"

BASELINE = textwrap.dedent(
    """
    import json, sys, requests
    base, key, limit = sys.argv[1], sys.argv[2], int(sys.argv[3])
    session, start, out = requests.Session(), 0, sys.stdout
    while True:
        page = session.get(base + "/achievements", headers={"apikey": key},
                           params={"source": "baseline", "format": "json",
                                   "start": start, "limit": limit}).json()
        for row in page:
            out.write(json.dumps(row) + "\\n")
        start += len(page)
        if len(page) < limit:
            break
    """
)


# The ceiling for any singer-sdk tap on this machine: the same tap class, writer and
# schema emitting N ready-made records, with no HTTP and no parsing.
SDK_ONLY = textwrap.dedent(
    """
    import sys
    from tap_litmos.streams import AchievementsStream
    from tap_litmos.tap import TapLitmos
    n = int(sys.argv[1])
    record = {"UserId": "vrPXwEiaHfmpzfuGdlAZ", "Title": "Onboarding", "Description": "Welcome",
              "AchievementDate": "2026-06-30T23:59:59.990Z", "CourseId": "JQkDeUWf6NAZuVi",
              "CompliantTillDate": None, "Score": "100", "Result": "Complete",
              "Type": "Course Completed", "FirstName": "Trent", "LastName": "Garcia",
              "AchievementId": 90011919, "CertificateId": None}
    AchievementsStream.get_records = lambda self, context: (dict(record) for _ in range(n))
    AchievementsStream.post_process = lambda self, row, context=None: row
    catalog = TapLitmos(config={"api_key": "x"}, parse_env_config=False).catalog_dict
    for entry in catalog["streams"]:
        for item in entry["metadata"]:
            item["metadata"]["selected"] = entry["tap_stream_id"] == "achievements"
    TapLitmos(config={"api_key": "x"}, catalog=catalog, parse_env_config=False).sync_all()
    """
)


def achievements_catalog(workdir: Path) -> Path:
    """The tap's catalog with only `achievements` selected (the benchmark's one stream)."""
    from tap_litmos.tap import TapLitmos  # noqa: PLC0415

    catalog = TapLitmos(config={"api_key": "x"}, parse_env_config=False).catalog_dict
    for entry in catalog["streams"]:
        for item in entry["metadata"]:
            item["metadata"]["selected"] = entry["tap_stream_id"] == "achievements"
    path = workdir / "catalog.json"
    path.write_text(json.dumps(catalog))
    return path


def timed(cmd: list[str], out_path: Path, env: dict | None = None) -> tuple[float, float]:
    """Run cmd with stdout to a file; return (wall seconds, peak RSS in MB)."""
    with out_path.open("wb") as out:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.DEVNULL, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{cmd[0]} failed with status {status}")
    return wall, usage.ru_maxrss / 1024  # ru_maxrss is in KiB on Linux


def count_records(path: Path) -> int:
    with path.open("rb") as fh:
        return sum(1 for line in fh if line.startswith(b'{"type":"RECORD"'))


def count_lines(path: Path) -> int:
    with path.open("rb") as fh:
        return sum(1 for _ in fh)


def bench(size: int, users: int, fmt: str, page_size: int, workdir: Path) -> dict:
    sandbox = spawn(achievements=size, users=users, api_key=API_KEY)
    base_url = sandbox.base_url
    try:
        config = workdir / "config.json"
        config.write_text(
            json.dumps(
                {
                    "api_key": API_KEY,
                    "api_url": base_url,
                    "response_format": fmt,
                    "page_size": page_size,
                    "max_requests_per_minute": 0,
                }
            )
        )
        # warm the sandbox's render caches so neither side pays for them
        timed(
            [sys.executable, "-c", BASELINE, base_url, API_KEY, str(page_size)],
            workdir / "warm.jsonl",
        )
        sandbox.reset_log()
        tap_wall, tap_rss = timed(
            [
                str(BIN / "tap-litmos"),
                "--config",
                str(config),
                "--catalog",
                str(achievements_catalog(workdir)),
            ],
            workdir / "tap.jsonl",
            env={**os.environ, "TAP_LITMOS_LOGLEVEL": "WARNING"},
        )
        tap_requests = len(sandbox.requests())
        tap_records = count_records(workdir / "tap.jsonl")
        sandbox.reset_log()
        base_wall, base_rss = timed(
            [sys.executable, "-c", BASELINE, base_url, API_KEY, str(page_size)],
            workdir / "baseline.jsonl",
        )
        base_rows = count_lines(workdir / "baseline.jsonl")
        sdk_wall, _ = timed([sys.executable, "-c", SDK_ONLY, str(size)], workdir / "sdk.jsonl")
    finally:
        sandbox.stop()
    target_requests = math.ceil(size / page_size) + (1 if size % page_size == 0 else 0)
    return {
        "achievements": size,
        "format": fmt,
        "page_size": page_size,
        "tap_records": tap_records,
        "tap_requests": tap_requests,
        "target_requests": target_requests,
        "tap_seconds": round(tap_wall, 2),
        "tap_records_per_s": round(tap_records / tap_wall),
        "tap_peak_rss_mb": round(tap_rss, 1),
        "baseline_rows": base_rows,
        "baseline_seconds": round(base_wall, 2),
        "baseline_rows_per_s": round(base_rows / base_wall),
        "baseline_peak_rss_mb": round(base_rss, 1),
        "tap_vs_baseline_time": round(tap_wall / base_wall, 2),
        "sdk_only_records_per_s": round(size / sdk_wall),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[200_000])
    parser.add_argument("--format", nargs="+", default=["json"], choices=["json", "xml"])
    parser.add_argument("--users", type=int, default=500)
    parser.add_argument("--page-size", type=int, default=1000)
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            for fmt in args.format:
                result = bench(size, args.users, fmt, args.page_size, Path(tmp))
                results.append(result)
                print(json.dumps(result), flush=True)
    header = (
        "| achievements | format | requests (target) | tap s | tap records/s | tap peak RSS MB"
        " | baseline s | baseline rows/s | tap/baseline time | SDK-only records/s |"
    )
    print("\n" + header + "\n|" + "---|" * 10)
    for r in results:
        print(
            f"| {r['achievements']:,} | {r['format']}"
            f" | {r['tap_requests']} ({r['target_requests']})"
            f" | {r['tap_seconds']} | {r['tap_records_per_s']:,} | {r['tap_peak_rss_mb']}"
            f" | {r['baseline_seconds']} | {r['baseline_rows_per_s']:,}"
            f" | {r['tap_vs_baseline_time']} | {r['sdk_only_records_per_s']:,} |"
        )
    out = HERE / "results" / "latest.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"python": sys.version.split()[0], "results": results}, indent=2))


if __name__ == "__main__":
    main()
