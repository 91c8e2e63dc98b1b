"""Benchmark: what a person reads during a run, against a sandbox that throttles like Litmos.

    python benchmarks/bench_run_lines.py                 # ~4 minutes at Litmos's pace
    python benchmarks/bench_run_lines.py --throttle 0    # no throttling, no budget: seconds

The demo's account (50 users, 5 000 achievements) in this process, throttling at 100
requests a minute (503, no Retry-After); the tap as a user runs it, `python -m tap_litmos
--config ... --catalog catalog.json` (the default catalog), at its default budget of 90
a minute: a first backfill from `start_date` 183 days back, then the nightly incremental
run from the state it wrote. For each: the lines on stderr (the issue's budgets: 80 and
40), the requests the plan announced against those the sandbox served, progress lines,
wall time. Figures to stdout and benchmarks/results/run_lines.json; the backfill's stderr
to benchmarks/results/run_lines.stderr.tmp, for the docs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))  # run from anywhere: the sandbox is imported here

from litmos_sandbox import LitmosSandbox  # noqa: E402

API_KEY = "bench-run-lines-key"
BUDGETS = {"backfill": 80, "nightly": 40}
THROTTLED = 503  # Litmos's answer over 100 requests a minute


def run(workdir: Path, config: dict, state: dict | None) -> tuple[list[str], dict, float]:
    """One tap run: its stderr lines, its last STATE and its wall seconds."""
    (workdir / "config.json").write_text(json.dumps(config))
    cmd = [sys.executable, "-m", "tap_litmos", "--config", str(workdir / "config.json")]
    cmd += ["--catalog", str(ROOT / "catalog.json")]
    if state is not None:
        (workdir / "state.json").write_text(json.dumps(state))
        cmd += ["--state", str(workdir / "state.json")]
    started = time.monotonic()
    done = subprocess.run(cmd, capture_output=True, text=True, check=True)
    seconds = time.monotonic() - started
    states = [json.loads(line)["value"] for line in done.stdout.splitlines() if '"STATE"' in line]
    return done.stderr.splitlines(), states[-1], seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--throttle", type=int, default=100, help="sandbox limit a minute")
    args = parser.parse_args()
    throttle = args.throttle or None
    budget = 90 if throttle else 0
    results = []
    with (
        LitmosSandbox(
            seed=42, users=50, achievements=5000, api_key=API_KEY, throttle_per_minute=throttle
        ) as sandbox,
        tempfile.TemporaryDirectory() as tmp,
    ):
        start = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=183)
        config = {
            "api_key": API_KEY,
            "api_url": sandbox.base_url,
            "start_date": start.date().isoformat(),
            "max_requests_per_minute": budget,
        }
        state = None
        for name in ("backfill", "nightly"):
            sandbox.reset_log()
            lines, state, seconds = run(Path(tmp), config, state)
            (plan,) = [line for line in lines if " | Plan: " in line]
            planned = int(re.search(r"at least ([\d,]+) request", plan)[1].replace(",", ""))
            served = sandbox.requests
            results.append(
                {
                    "run": name,
                    "stderr_lines": len(lines),
                    "line_budget": BUDGETS[name],
                    "planned_requests": planned,
                    "requests": len(served),
                    "throttled_503": sum(r["status"] == THROTTLED for r in served),
                    "progress_lines": sum("; run: " in line for line in lines),
                    "wall_s": round(seconds, 1),
                    "throttle_per_minute": throttle,
                    "max_requests_per_minute": budget,
                }
            )
            if name == "backfill":
                (HERE / "results" / "run_lines.stderr.tmp").write_text("\n".join(lines) + "\n")
    columns = list(results[0])
    print("| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    for row in results:
        print("| " + " | ".join(str(row[c]) for c in columns) + " |")
    (HERE / "results" / "run_lines.json").write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
