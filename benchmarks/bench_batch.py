"""Benchmark: achievements into PostgreSQL through Meltano, as RECORD messages vs as BATCH files.

    python benchmarks/bench_batch.py                                 # 1 000 000 achievements
    python benchmarks/bench_batch.py --sizes 20000 --modes record batch-s3

Each mode is one `meltano run tap-litmos target-postgres` (achievements only, a first full
run into an empty database), timed end to end (wall clock of the `meltano run` process,
start-up included), then the loaded rows are counted:

- `record`: the tap sends RECORD messages through Meltano to target-postgres (the default);
- `batch-s3`: the tap writes gzipped JSON-lines files (the SDK's `batch_config`, 10 000
  rows a file) to an S3 bucket and sends BATCH messages naming them; target-postgres reads
  the files from the bucket. The bucket is moto's S3-compatible server on 127.0.0.1
  (`tests/helpers/object_store.py`): the production code path (s3fs, the S3 API over HTTP), with
  no network latency and no bandwidth limit, so real S3 can only be slower;
- `batch-file`: the same files in a local folder (`file://`): BATCH without any storage
  service, the lower bound of what the S3 path costs.

Everything is local: the Litmos sandbox in its own process (no throttling, so the request
budget does not set the pace), a real PostgreSQL server from `tests/helpers/servers.py` (one fresh
database per mode), and the Meltano plugins installed once into a temporary folder (not
timed). target-postgres runs with the settings of meltano.yml (record metadata on,
`use_copy` at its default). Results: a markdown table on stdout, and the run added to
benchmarks/results/batch.json (with the machine's load average before and after each mode).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from bench_achievements import API_KEY, BASELINE, timed  # noqa: E402

from litmos_sandbox import spawn  # noqa: E402
from tests.helpers import object_store, servers  # noqa: E402
from tests.helpers.meltano import MELTANO, target_postgres_env  # noqa: E402

MODES = ("record", "batch-s3", "batch-file")
BUCKET = "litmos-bench"
SCHEMA = "litmos"


def batch_config(mode: str, workdir: Path) -> dict | None:
    """The tap's `batch_config` for a mode (None: RECORD messages)."""
    if mode == "record":
        return None
    root = f"s3://{BUCKET}/batches" if mode == "batch-s3" else (workdir / "batches").as_uri()
    return {
        "encoding": {"format": "jsonl", "compression": "gzip"},
        "storage": {"root": root, "prefix": f"{mode}-"},
    }


def stored_files(mode: str, s3: object_store.S3Server | None, workdir: Path) -> tuple[int, int]:
    """(number, total bytes) of the batch files this mode left."""
    if mode == "batch-s3" and s3 is not None:
        client = s3.client()
        pages = client.get_paginator("list_objects_v2").paginate(
            Bucket=BUCKET, Prefix=f"batches/{mode}-"
        )
        sizes = [obj["Size"] for page in pages for obj in page.get("Contents", [])]
        return len(sizes), sum(sizes)
    if mode == "batch-file":
        files = list((workdir / "batches").glob(f"{mode}-*"))
        return len(files), sum(f.stat().st_size for f in files)
    return 0, 0


def count_rows(url: str) -> int:
    """Rows in the achievements table of the database at `url`."""
    import psycopg  # noqa: PLC0415  (the dev extra)

    with psycopg.connect(url) as con:
        return con.execute(f"select count(*) from {SCHEMA}.achievements").fetchone()[0]  # noqa: S608


def run_mode(  # noqa: PLR0913
    mode: str,
    *,
    size: int,
    plugins: object_store.MeltanoPlugins,
    sandbox_url: str,
    postgres: servers.Server,
    s3: object_store.S3Server | None,
    workdir: Path,
) -> dict:
    """One timed `meltano run` of `size` achievements into a fresh database."""
    import psycopg  # noqa: PLC0415

    database = f"bench_{mode.replace('-', '_')}_{size}"
    with psycopg.connect(postgres.url, autocommit=True) as con:
        con.execute(f"drop database if exists {database}")
        con.execute(f"create database {database}")
    project = plugins.project(workdir / f"{mode}-{size}")
    extra = {"TAP_LITMOS_BATCH_CONFIG": json.dumps(batch_config(mode, workdir))}
    env = object_store.project_env(
        project,
        TAP_LITMOS_API_URL=sandbox_url,
        TAP_LITMOS_API_KEY=API_KEY,
        TAP_LITMOS_START_DATE="2000-01-01",
        TAP_LITMOS_MAX_REQUESTS_PER_MINUTE="0",
        TAP_LITMOS__SELECT=json.dumps(["achievements.*"]),
        **target_postgres_env(postgres, database),
        **(s3.client_env() if s3 else {}),
        **(extra if mode != "record" else {}),
    )
    load_before = os.getloadavg()[0]  # a shared machine: say how busy it was
    log = workdir / f"{mode}-{size}.log"
    with log.open("wb") as out:
        started = time.perf_counter()
        proc = subprocess.Popen(
            [MELTANO, "run", "tap-litmos", "target-postgres"],
            cwd=project,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        tail = log.read_text(errors="replace")[-3000:]
        msg = f"meltano run ({mode}, {size}) failed:\n{tail}"
        raise SystemExit(msg)
    base = postgres.url.rsplit("/", 1)[0]
    rows = count_rows(f"{base}/{database}")
    files, stored_bytes = stored_files(mode, s3, workdir)
    return {
        "achievements": size,
        "mode": mode,
        "rows_loaded": rows,
        "seconds": round(wall, 2),
        "rows_per_s": round(rows / wall),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),  # the largest process of the run
        "batch_files": files,
        "batch_mb": round(stored_bytes / 1e6, 1),
        "load_avg_1m_before_after": [round(load_before, 2), round(os.getloadavg()[0], 2)],
    }


def main() -> None:
    """Run the modes for each size, print the table, save the results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--modes", nargs="+", default=list(MODES), choices=MODES)
    parser.add_argument("--users", type=int, default=500)
    parser.add_argument("--output", type=Path, default=HERE / "results" / "batch.json")
    args = parser.parse_args()

    results = []
    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    with tempfile.TemporaryDirectory(prefix="bench-batch-") as tmp:
        workdir = Path(tmp)
        plugins = object_store.MeltanoPlugins(workdir / "plugins")
        plugins.install([("extractor", "tap-litmos"), ("loader", "target-postgres")])
        with (
            servers.postgres_server() as postgres,
            object_store.s3_server() as s3,
        ):
            s3.create_bucket(BUCKET)
            for size in args.sizes:
                sandbox = spawn(achievements=size, users=args.users, api_key=API_KEY)
                base_url = sandbox.base_url
                try:
                    # Warm the sandbox's page caches so no mode pays for them.
                    timed(
                        [sys.executable, "-c", BASELINE, base_url, API_KEY, "1000"],
                        workdir / "warm.jsonl",
                    )
                    (workdir / "warm.jsonl").unlink()
                    for mode in args.modes:
                        result = run_mode(
                            mode,
                            size=size,
                            plugins=plugins,
                            sandbox_url=base_url,
                            postgres=postgres,
                            s3=s3,
                            workdir=workdir,
                        )
                        results.append(result)
                        print(json.dumps(result), flush=True)
                finally:
                    sandbox.stop()

    by_size = {}
    for r in results:
        by_size.setdefault(r["achievements"], {})[r["mode"]] = r
    header = (
        "| achievements | mode | rows loaded | wall s | rows/s | vs record | batch files"
        " | batch MB | peak RSS MB |"
    )
    print("\n" + header + "\n|" + "---|" * 9)
    for r in results:
        record = by_size[r["achievements"]].get("record")
        ratio = f"{r['seconds'] / record['seconds']:.2f}" if record else "-"
        print(
            f"| {r['achievements']:,} | {r['mode']} | {r['rows_loaded']:,} | {r['seconds']}"
            f" | {r['rows_per_s']:,} | {ratio} | {r['batch_files'] or '-'}"
            f" | {r['batch_mb'] or '-'} | {r['peak_rss_mb']} |"
        )
    save(args.output, results, started)


def save(output: Path, results: list[dict], started: str) -> None:
    """Add this run to the results file, keeping the earlier runs.

    The machine is shared and its load varies, so one run alone can mislead.
    """
    runs = []
    if output.exists():
        runs = json.loads(output.read_text()).get("runs", [])
    runs.append(
        {
            "started": started,
            "python": sys.version.split()[0],
            "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
            "runner": "meltano run tap-litmos target-postgres (achievements only)",
            "results": results,
        }
    )
    output.parent.mkdir(exist_ok=True)
    output.write_text(json.dumps({"runs": runs}, indent=2) + "\n")


if __name__ == "__main__":
    main()
