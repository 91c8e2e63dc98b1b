"""Benchmark: what the history marts add to `dbt build`, in DuckDB and in PostgreSQL.

    python benchmarks/bench_dbt_history.py                       # the 10 000-user account
    python benchmarks/bench_dbt_history.py --users 50 --achievements 5000 --course-results 200 \
        --courses 16 --teams 6 --learning-paths 4                # the demo's account

One sandbox account (default: bench_catalog.py's, 10 000 users, 500 courses, 200 teams,
100 learning paths, 300 000 course results, 200 000 achievements; its /org/* changes in the
year before today) is loaded through Meltano with meltano.yml's default selection and a
start date 370 days back, into DuckDB (target-duckdb) and into a real PostgreSQL
(target-postgres, a server from tests/helpers/servers.py). Then, in each warehouse, with
`litmos_as_of` fixed:

- `dbt build` of the whole project (wall clock of the process, dbt's start-up included);
- `dbt run --full-refresh` of the two history models alone, i.e. a full rebuild of the
  history (wall clock, and the models' own execution times from run_results.json);
- `dbt run` of the two history models again, incremental with nothing loaded since: the
  daily model rebuilds only its last days (docs/dbt.md, "Incremental builds");
- `dbt build --exclude` of the history models and their tests: the project as it was,
  so the difference is what the history adds.

The plugins must be installed (`meltano install`); the loads are not what is measured.
Results: a markdown table on stdout, and the run added to benchmarks/results/dbt_history.json
(with the machine's load average, as the machine may be shared).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

import duckdb  # noqa: E402
import psycopg  # noqa: E402

from litmos_sandbox import spawn  # noqa: E402
from tests.helpers import servers  # noqa: E402
from tests.helpers.meltano import meltano_env, run_meltano, target_postgres_env  # noqa: E402
from tests.test_dbt import default_selection  # noqa: E402

if TYPE_CHECKING:
    from collections.abc import Callable

API_KEY = "bench-key"
WAREHOUSES = ("duckdb", "postgres")
HISTORY_MODELS = ("team_course_compliance_daily", "compliance_by_month")
#: The history models and everything downstream of them (their tests, the last-day test).
HISTORY_SELECTOR = "team_course_compliance_daily+ compliance_by_month+"
DATABASE = "history_bench"
#: A load of the 10 000-user account into PostgreSQL takes many minutes on a busy machine.
MELTANO_TIMEOUT_S = 4 * 3600


def meltano_runner(env: dict[str, str]) -> Callable[..., None]:
    """`meltano ARGS` with `env`, failing loudly, without the tests' 15-minute limit."""

    def run(*args: str) -> None:
        result = run_meltano(env, *args, timeout=MELTANO_TIMEOUT_S)
        if result.returncode != 0:
            sys.exit(f"meltano {' '.join(args)} failed:\n{result.stderr[-3000:]}")

    return run


def timed(run: Callable[..., None], *args: str) -> float:
    started = time.perf_counter()
    run(*args)
    return round(time.perf_counter() - started, 1)


def measure(warehouse: str, meltano: Callable[..., None], target: Path, as_of: str) -> dict:
    """The three dbt runs in one warehouse."""
    utility = f"dbt-{warehouse}"
    variables = json.dumps({"litmos_as_of": as_of})
    whole = timed(meltano, "invoke", utility, "build", "--vars", variables)
    results = json.loads((target / "run_results.json").read_text())["results"]
    nodes = len(results)
    history_only = timed(
        meltano,
        "invoke",
        utility,
        "run",
        "--full-refresh",
        "--vars",
        variables,
        "--select",
        *HISTORY_MODELS,
    )
    model_seconds = model_times(target)
    # Incremental: nothing loaded since, so the daily model rebuilds its last days only.
    incremental = timed(
        meltano, "invoke", utility, "run", "--vars", variables, "--select", *HISTORY_MODELS
    )
    incremental_seconds = model_times(target)
    without = timed(
        meltano, "invoke", utility, "build", "--vars", variables, "--exclude", HISTORY_SELECTOR
    )
    return {
        "build_s": whole,
        "build_nodes": nodes,
        "build_without_history_s": without,
        "history_run_s": history_only,
        "history_model_s": model_seconds,
        "history_incremental_run_s": incremental,
        "history_incremental_model_s": incremental_seconds,
    }


def model_times(target: Path) -> dict[str, float]:
    """Each model's execution time in the last dbt invocation (run_results.json)."""
    results = json.loads((target / "run_results.json").read_text())["results"]
    return {r["unique_id"].rsplit(".", 1)[-1]: round(r["execution_time"], 1) for r in results}


def history_rows(warehouse: str, duckdb_file: Path, postgres_url: str | None) -> int:
    query = "select count(*) from analytics_litmos.team_course_compliance_daily"
    if warehouse == "duckdb":
        with duckdb.connect(str(duckdb_file), read_only=True) as con:
            return con.execute(query).fetchone()[0]
    with psycopg.connect(postgres_url) as con:
        return con.execute(query).fetchone()[0]


def main() -> None:
    """Load the account, measure each warehouse, print and save."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--courses", type=int, default=500)
    parser.add_argument("--teams", type=int, default=200)
    parser.add_argument("--learning-paths", type=int, default=100)
    parser.add_argument("--course-results", type=int, default=300_000)
    parser.add_argument("--achievements", type=int, default=200_000)
    parser.add_argument("--warehouses", nargs="+", choices=WAREHOUSES, default=list(WAREHOUSES))
    parser.add_argument("--output", type=Path, default=HERE / "results" / "dbt_history.json")
    args = parser.parse_args()
    sizes = {
        "users": args.users,
        "courses": args.courses,
        "teams": args.teams,
        "learning_paths": args.learning_paths,
        "course_results": args.course_results,
        "achievements": args.achievements,
    }
    start = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=370)).date()
    measured: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="bench-history-") as tmp:
        work = Path(tmp)
        duckdb_file = work / "warehouse.duckdb"
        sandbox = spawn(seed=42, api_key=API_KEY, cwd=ROOT, **sizes)
        try:
            common = {
                "TAP_LITMOS_API_URL": sandbox.base_url,
                "TAP_LITMOS_API_KEY": API_KEY,
                "TAP_LITMOS_START_DATE": start.isoformat(),
                "TAP_LITMOS_MAX_REQUESTS_PER_MINUTE": "0",
                "TAP_LITMOS__SELECT": json.dumps(default_selection()),
            }
            with servers.postgres_server() as postgres:
                with psycopg.connect(postgres.url, autocommit=True) as con:
                    con.execute(f"create database {DATABASE}")
                postgres_url = (
                    f"postgresql://{servers.POSTGRES_USER}@{postgres.host}:{postgres.port}"
                    f"/{DATABASE}"
                )
                for warehouse in args.warehouses:
                    target = work / f"dbt-{warehouse}"
                    extra = (
                        {
                            "TARGET_DUCKDB_FILEPATH": str(duckdb_file),
                            "DBT_DUCKDB_PATH": str(duckdb_file),
                            "DBT_DUCKDB_TARGET_PATH": str(target),
                            "DBT_DUCKDB_LOG_PATH": str(target),
                        }
                        if warehouse == "duckdb"
                        else {
                            **target_postgres_env(postgres, DATABASE),
                            "DBT_POSTGRES_TARGET_PATH": str(target),
                            "DBT_POSTGRES_LOG_PATH": str(target),
                        }
                    )
                    meltano = meltano_runner(meltano_env(work / "meltano.db", **common, **extra))
                    load_s = timed(meltano, "run", "tap-litmos", f"target-{warehouse}")
                    as_of = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
                    load_before = os.getloadavg()[0]
                    measured[warehouse] = {
                        "load_s": load_s,
                        **measure(warehouse, meltano, target, as_of),
                        "history_rows": history_rows(warehouse, duckdb_file, postgres_url),
                        "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
                    }
        finally:
            sandbox.stop()
    users = f"{sizes['users']:,} users"
    print(
        f"| warehouse | dbt build | without the history | history alone | incremental"
        f" | rows ({users}) |"
    )
    print("|:--|--:|--:|--:|--:|--:|")
    for warehouse, m in measured.items():
        print(
            f"| {warehouse} | {m['build_s']} s | {m['build_without_history_s']} s"
            f" | {m['history_run_s']} s ({m['history_model_s']})"
            f" | {m['history_incremental_run_s']} s ({m['history_incremental_model_s']})"
            f" | {m['history_rows']:,} |"
        )
    save(args.output, {"sizes": sizes, "warehouses": measured})


def save(output: Path, run: dict) -> None:
    """Add this run to the results file, keeping the earlier runs."""
    runs = json.loads(output.read_text())["runs"] if output.exists() else []
    runs.append(
        {
            "when": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            **run,
        }
    )
    output.write_text(json.dumps({"runs": runs}, indent=2) + "\n")


if __name__ == "__main__":
    main()
