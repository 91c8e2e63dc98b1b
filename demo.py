"""The main job on the embedded default: Litmos sandbox -> Meltano -> DuckDB -> dbt, then a summary.

    python3 demo.py

Starts the local Litmos sandbox, runs `meltano run tap-litmos target-duckdb` (the
`litmos-to-duckdb` job) with state, then the dbt models (`meltano run dbt-duckdb:build`,
transform/ and docs/dbt.md), prints the rows loaded per stream, the requests the sandbox
served, the rows of each mart and a first answer (the teams with the most overdue
assignments, the learners whose compliance ends within 30 days), and stops the sandbox.
Run it twice: the second run is incremental (about one request per stream, plus the two
ILT fan-outs' one per session). Logs go to output/.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from scripts import devenv

devenv.ensure("demo.py")

import duckdb  # noqa: E402  (only importable inside .venv)
import yaml  # noqa: E402

from litmos_sandbox import spawn  # noqa: E402

ROOT = Path(__file__).resolve().parent
OUTPUT = ROOT / "output"
BIN = Path(sys.executable).parent
API_KEY = "demo-api-key"
ACHIEVEMENTS, USERS = 5000, 50
MARTS_SCHEMA = "analytics_litmos"  # dbt-duckdb's schema setting + the marts' +schema
MARTS = (
    "learner_course_assignments",
    "team_course_compliance",
    "course_completions_by_month",
    "learning_path_progress",
    "ilt_session_attendance",
    "team_course_compliance_daily",
    "compliance_by_month",
)
#: How far back the demo's line from the history looks (docs/dbt.md, "Compliance over time").
HISTORY_LOOK_BACK_DAYS = 90
#: Opt-in fan-outs the demo adds to meltano.yml's selection: ilt_session_attendance counts
#: registrations and attendance from them (one request per session each).
ILT_FAN_OUTS = ["ilt_rollcall.*", "ilt_attendance.*"]
#: ... and course_custom_fields holds each course's values from this one (one per course).
COURSE_FIELD_VALUES = ["course_custom_field_values.*"]


def meltano(*args: str, env: dict[str, str], log: Path) -> None:
    with log.open("a") as out:
        result = subprocess.run(
            [str(BIN / "meltano"), *args], cwd=ROOT, env=env, stdout=out, stderr=out, check=False
        )
    if result.returncode != 0:
        tail = "\n".join(log.read_text().splitlines()[-25:])
        sys.exit(f"`meltano {' '.join(args)}` failed (exit {result.returncode}); see {log}\n{tail}")


def summary(database: Path) -> list[tuple[str, int]]:
    with duckdb.connect(str(database), read_only=True) as con:
        tables = con.execute(
            "select table_name from information_schema.tables where table_schema = 'litmos'"
            " order by table_name"
        ).fetchall()
        return [
            (table, con.execute(f'select count(*) from litmos."{table}"').fetchone()[0])  # noqa: S608
            for (table,) in tables
        ]


def selection() -> list[str]:
    """meltano.yml's selection, with the ILT fan-outs and the course custom field values."""
    project = yaml.safe_load((ROOT / "meltano.yml").read_text())
    (extractor,) = project["plugins"]["extractors"]
    return [*extractor["select"], *ILT_FAN_OUTS, *COURSE_FIELD_VALUES]


def history_line(con: duckdb.DuckDBPyConnection) -> tuple[float | None, float | None]:
    """The compliant share (%) of the five largest teams, some days ago and today.

    Largest by learners assigned today; from team_course_compliance_daily.
    """
    return con.execute(
        f"""
        with daily as (select * from {MARTS_SCHEMA}.team_course_compliance_daily),
        today as (select max(calendar_date) as day from daily),
        largest as (
            select source_relation, team_id from daily, today
            where calendar_date = today.day
            group by source_relation, team_id
            order by sum(learners_assigned) desc, team_id limit 5
        )
        select
            round(100.0 * sum(case when calendar_date = today.day - {HISTORY_LOOK_BACK_DAYS}
                then learners_compliant end)
                / sum(case when calendar_date = today.day - {HISTORY_LOOK_BACK_DAYS}
                then learners_assigned end), 1),
            round(100.0 * sum(case when calendar_date = today.day then learners_compliant end)
                / sum(case when calendar_date = today.day then learners_assigned end), 1)
        from daily
        inner join largest using (source_relation, team_id)
        cross join today
        """  # noqa: S608
    ).fetchone()


def answers(
    database: Path,
) -> tuple[list[tuple[str, int]], list[tuple[str, int]], int, tuple[float | None, float | None]]:
    """The marts' rows, the five teams with most overdue assignments, learners expiring.

    And the compliant share of the five largest teams 90 days ago and today.
    """
    with duckdb.connect(str(database), read_only=True) as con:
        counts = [
            (mart, con.execute(f"select count(*) from {MARTS_SCHEMA}.{mart}").fetchone()[0])  # noqa: S608
            for mart in MARTS
        ]
        overdue = con.execute(
            f"select team_name, sum(learners_overdue) as overdue"  # noqa: S608
            f" from {MARTS_SCHEMA}.team_course_compliance group by team_id, team_name"
            " having sum(learners_overdue) > 0 order by overdue desc, team_name limit 5"
        ).fetchall()
        (expiring,) = con.execute(
            f"select count(distinct user_id) from {MARTS_SCHEMA}.learner_course_assignments"  # noqa: S608
            " where status = 'expiring' and is_user_active"
        ).fetchone()
        then_and_now = history_line(con)
    return counts, overdue, expiring, then_and_now


def main() -> None:
    OUTPUT.mkdir(exist_ok=True)
    log = OUTPUT / "demo.log"
    log.write_text("")
    started = time.perf_counter()
    sandbox = spawn(seed=42, users=USERS, achievements=ACHIEVEMENTS, api_key=API_KEY, cwd=ROOT)
    base_url = sandbox.base_url
    print(f"Litmos sandbox: {base_url} ({ACHIEVEMENTS:,} achievements, {USERS} users)")
    env = {
        **os.environ,
        "TAP_LITMOS_API_URL": base_url,
        "TAP_LITMOS_API_KEY": API_KEY,
        # The sandbox keeps no request budget; against Litmos, leave the default (90).
        "TAP_LITMOS_MAX_REQUESTS_PER_MINUTE": "0",
        "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
        "MELTANO_ENVIRONMENT": "dev",
        # The bookmarks live beside the warehouse they describe: deleting output/ starts
        # the demo over (kept in .meltano/, they would make the next run an incremental one
        # into an empty warehouse).
        "MELTANO_STATE_BACKEND_URI": (OUTPUT / "state").as_uri(),
        "TAP_LITMOS__SELECT": json.dumps(selection()),
    }
    try:
        print("meltano install (first time only takes a minute) ...", flush=True)
        meltano("install", "--plugin-type", "extractor", "tap-litmos", env=env, log=log)
        meltano("install", "--plugin-type", "loader", "target-duckdb", env=env, log=log)
        meltano("install", "--plugin-type", "utility", "dbt-duckdb", env=env, log=log)
        print("meltano run litmos-to-duckdb ...", flush=True)
        loading = time.perf_counter()
        meltano("run", "litmos-to-duckdb", env=env, log=log)
        loaded = time.perf_counter() - loading
        requests = sandbox.requests()
    finally:
        sandbox.stop()
    print("meltano run dbt-duckdb:build ...", flush=True)
    modelling = time.perf_counter()
    meltano("run", "dbt-duckdb:build", env=env, log=log)
    modelled = time.perf_counter() - modelling
    database = OUTPUT / "warehouse.duckdb"
    print(
        f"\nLoaded into {database.relative_to(ROOT)} (schema litmos) in {loaded:.0f} s"
        f" ({time.perf_counter() - started:.0f} s in all):"
    )
    print(f"  {'stream':<28}{'rows in table':>14}")
    for table, count in summary(database):
        print(f"  {table:<28}{count:>14,}")
    rows = sum(r["rows"] for r in requests)
    windows = sum("/org/" in r["path"] for r in requests)
    print(
        f"Requests to Litmos this run: {len(requests):,} ({rows:,} rows read;"
        f" {windows:,} of them 7-day windows of the /org/* streams)"
    )
    counts, overdue, expiring, (then, now) = answers(database)
    print(f"\ndbt models (transform/, docs/dbt.md) built and tested in {modelled:.0f} s:")
    print(f"  {'mart (schema ' + MARTS_SCHEMA + ')':<38}{'rows':>8}")
    for mart, count in counts:
        print(f"  {mart:<38}{count:>8,}")
    print("The five teams with the most overdue assignments:")
    for team, count in overdue:
        print(f"  {team:<38}{count:>8,}")
    print(f"Learners whose compliance ends within the next 30 days: {expiring:,}")
    print(
        f"Compliant share of the five largest teams: {then}% {HISTORY_LOOK_BACK_DAYS} days ago,"
        f" {now}% today (team_course_compliance_daily)"
    )
    print(
        f"Bookmarks kept in {(OUTPUT / 'state').relative_to(ROOT)}: run it again for an"
        " incremental run (about one request per stream, and one per session for each ILT fan-out)."
        f" Logs: {log.relative_to(ROOT)}"
    )


if __name__ == "__main__":
    main()
