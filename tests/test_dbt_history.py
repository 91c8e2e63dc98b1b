"""The history marts (compliance over time) against the sandbox's truth, in DuckDB and PostgreSQL.

One sandbox account whose year holds history (assignments made and removed, learners who
moved team, completions that lapsed and were renewed, due dates that passed; the sandbox
generates them, and one lapse-and-renewal is added here so it is certain), loaded once
through Meltano into DuckDB (tap -> target-duckdb) and into a real PostgreSQL (the
`append-only` environment: every version of a row kept), then `dbt build` with
`litmos_as_of` set: DuckDB with the defaults (365 days, 30 expiring), PostgreSQL with 120
days and 90 expiring. Every row of `team_course_compliance_daily` and
`compliance_by_month` is compared with tests/helpers/history_reference.py (written from
docs/dbt.md, never from the SQL), and the last day with today's `team_course_compliance`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import typing as t

import duckdb
import psycopg
import pytest
from psycopg import sql

from litmos_sandbox import LitmosSandbox
from tests.helpers import history_reference as history
from tests.helpers import marts_reference as reference
from tests.helpers import servers
from tests.helpers.expect import API_KEY
from tests.helpers.marts_reference import differences
from tests.helpers.meltano import meltano_cli, meltano_env, target_postgres_env
from tests.test_dbt import default_selection

if t.TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

pytestmark = pytest.mark.platform

UTC = dt.timezone.utc
START_DATE = (dt.datetime.now(UTC) - dt.timedelta(days=370)).date()
START = dt.datetime.combine(START_DATE, dt.time(), UTC)
MARTS_SCHEMA = "analytics_litmos"
DATABASE = "history"
WAREHOUSES = ("duckdb", "postgres")
HISTORY_MARTS = tuple(history.KEYS)
#: The variables of each warehouse's run (DuckDB: the defaults).
VARIABLES = {
    "duckdb": {"history_days": history.HISTORY_DAYS, "expiring_days": history.EXPIRING_DAYS},
    "postgres": {"history_days": 120, "expiring_days": 90},
}


@dataclasses.dataclass
class Run:
    """One warehouse's load and build: its marts, what they must be, dbt's results."""

    marts: dict[str, reference.Mart]
    expected: dict[str, reference.Mart]
    today: reference.Mart
    dbt_results: list[dict]


@dataclasses.dataclass
class Scenario:
    runs: dict[str, Run]
    loaded: reference.Loaded
    as_of: dt.datetime
    renewed: tuple[str, str]  # (user, course): a completion that lapsed, then renewed
    lapsed_at: dt.datetime
    renewed_at: dt.datetime


#: The daily mart's bookkeeping for incremental runs (what a day was built from), not figures.
BOOKKEEPING = ("built_from_extracted_at", "built_with")


def keyed(mart: str, rows: list[dict], keys: tuple[str, ...]) -> reference.Mart:
    rows = [{c: v for c, v in row.items() if c not in BOOKKEEPING} for row in rows]
    table = {tuple(row[k] for k in keys): row for row in rows}
    assert len(table) == len(rows), f"{mart}: a key appears twice"
    return table


KEYS = {**history.KEYS, "team_course_compliance": reference.KEYS["team_course_compliance"]}


def duckdb_marts(path: Path) -> dict[str, reference.Mart]:
    with duckdb.connect(str(path), read_only=True) as con:
        marts = {}
        for mart, keys in KEYS.items():
            cursor = con.execute(f"select * from {MARTS_SCHEMA}.{mart}")  # noqa: S608
            names = [d[0] for d in cursor.description]
            marts[mart] = keyed(mart, [dict(zip(names, r)) for r in cursor.fetchall()], keys)
        return marts


def postgres_marts(url: str) -> dict[str, reference.Mart]:
    marts = {}
    with psycopg.connect(url) as con, con.cursor(row_factory=psycopg.rows.dict_row) as cur:
        for mart, keys in KEYS.items():
            query = sql.SQL("select * from {}").format(sql.Identifier(MARTS_SCHEMA, mart))
            marts[mart] = keyed(mart, cur.execute(query).fetchall(), keys)
    return marts


def add_lapse_and_renewal(
    sandbox: LitmosSandbox,
) -> tuple[tuple[str, str], dt.datetime, dt.datetime]:
    """A completed result that renews a completion which had lapsed before it.

    The learner (active, in a team, assigned the course directly, no achievement of it
    yet) completed the course a day after the assignment, compliant for half the time up
    to the result's completion: compliant, then expired, then compliant again.
    """
    users = {u["Id"]: u for u in sandbox.truth("users")}
    since = {m["Id"]: naive(m["CreatedDate"]) for m in sandbox.truth("team_users") if m["Active"]}
    assigned = {
        (a["UserId"], a["Id"]): naive(a["CreatedDate"])
        for a in sandbox.truth("user_courses")
        if a["Active"]
    }
    achieved = {(a["UserId"], a["CourseId"]) for a in sandbox.truth("achievements")}
    oldest = sandbox.now() - dt.timedelta(days=300)

    def first_completion(result: dict) -> dt.datetime | None:
        key = (result["UserId"], result["Id"])
        if not (result["Active"] and result["Completed"]) or key in achieved:
            return None
        if key not in assigned or key[0] not in since or not users[key[0]]["Active"]:
            return None
        first = max(assigned[key], since[key[0]], oldest) + dt.timedelta(days=1)
        return first if naive(result["CompletedDate"]) - first > dt.timedelta(days=10) else None

    result = next(r for r in sandbox.truth("course_results") if first_completion(r))
    first = first_completion(result)
    assert first is not None
    renewed_at = naive(result["CompletedDate"])
    lapsed_at = (first + (renewed_at - first) / 2).replace(microsecond=0)
    sandbox.add_achievements(
        count=1,
        user_id=result["UserId"],
        course_id=result["Id"],
        achievement_date=first,
        compliant_till_date=lapsed_at,
    )
    return (result["UserId"], result["Id"]), lapsed_at, renewed_at


def naive(value: dt.datetime) -> dt.datetime:
    """A truth date-time (aware) as the naive UTC wall clock the sandbox takes."""
    return value.astimezone(UTC).replace(tzinfo=None)


@pytest.fixture(scope="module")
def postgres() -> Iterator[servers.Server]:
    yield from servers.pytest_server(
        lambda: servers.postgres_server(timezone="America/Los_Angeles")
    )


@pytest.fixture(scope="module")
def scenario(postgres: servers.Server, tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    tmp = tmp_path_factory.mktemp("dbt-history")
    with psycopg.connect(postgres.url, autocommit=True) as con:
        con.execute(sql.SQL("create database {}").format(sql.Identifier(DATABASE)))
    postgres_url = (
        f"postgresql://{servers.POSTGRES_USER}@{postgres.host}:{postgres.port}/{DATABASE}"
    )
    duckdb_file = tmp / "warehouse.duckdb"
    targets = {w: tmp / f"dbt-{w}" for w in WAREHOUSES}
    with LitmosSandbox(seed=5, users=40, achievements=600, api_key=API_KEY) as sandbox:
        common = {
            "TAP_LITMOS_API_URL": sandbox.base_url,
            "TAP_LITMOS_API_KEY": API_KEY,
            "TAP_LITMOS_START_DATE": START_DATE.isoformat(),
            "TAP_LITMOS_MAX_REQUESTS_PER_MINUTE": "0",
            "TAP_LITMOS__SELECT": json.dumps(default_selection()),
        }
        env = {
            "duckdb": meltano_env(
                tmp / "meltano.db",
                **common,
                TARGET_DUCKDB_FILEPATH=str(duckdb_file),
                DBT_DUCKDB_PATH=str(duckdb_file),
                DBT_DUCKDB_TARGET_PATH=str(targets["duckdb"]),
                DBT_DUCKDB_LOG_PATH=str(targets["duckdb"]),
            ),
            "postgres": meltano_env(
                tmp / "meltano.db",
                **common,
                MELTANO_ENVIRONMENT="append-only",
                **target_postgres_env(postgres, DATABASE),
                DBT_POSTGRES_TARGET_PATH=str(targets["postgres"]),
                DBT_POSTGRES_LOG_PATH=str(targets["postgres"]),
            ),
        }
        meltano = {w: meltano_cli(env[w]) for w in WAREHOUSES}
        meltano["duckdb"]("install")
        renewed, lapsed_at, renewed_at = add_lapse_and_renewal(sandbox)
        meltano["duckdb"]("run", "tap-litmos", "target-duckdb")
        meltano["postgres"]("run", "tap-litmos", "target-postgres")
        loaded = reference.Loaded.from_sandbox(sandbox, START, ilt_fan_outs=False)
    as_of = (dt.datetime.now(UTC).replace(tzinfo=None) + dt.timedelta(minutes=1)).replace(
        microsecond=0
    )
    runs = {}
    for warehouse in WAREHOUSES:
        days, expiring = (VARIABLES[warehouse][k] for k in ("history_days", "expiring_days"))
        variables = {
            "litmos_as_of": str(as_of),
            "litmos_history_days": days,
            "litmos_expiring_days": expiring,
        }
        meltano[warehouse]("invoke", f"dbt-{warehouse}", "build", "--vars", json.dumps(variables))
        daily = history.team_course_compliance_daily(loaded, as_of, days, expiring)
        runs[warehouse] = Run(
            marts=duckdb_marts(duckdb_file)
            if warehouse == "duckdb"
            else postgres_marts(postgres_url),
            expected={
                "team_course_compliance_daily": daily,
                "compliance_by_month": history.compliance_by_month(daily, as_of),
            },
            today=reference.marts(loaded, as_of, expiring)["team_course_compliance"],
            dbt_results=json.loads((targets[warehouse] / "run_results.json").read_text())[
                "results"
            ],
        )
    return Scenario(runs, loaded, as_of, renewed, lapsed_at, renewed_at)


# --- Every row ----------------------------------------------------------------------------


@pytest.mark.parametrize("warehouse", WAREHOUSES)
@pytest.mark.parametrize("mart", HISTORY_MARTS)
def test_every_row_of_the_history_is_the_truth(
    scenario: Scenario, warehouse: str, mart: str
) -> None:
    run = scenario.runs[warehouse]
    expected = run.expected[mart]
    assert expected, f"{mart}: the reference has no rows to compare with"
    assert not differences(run.marts[mart], expected), "\n".join(
        differences(run.marts[mart], expected)
    )


@pytest.mark.parametrize("warehouse", WAREHOUSES)
def test_the_history_covers_the_days_asked_for(scenario: Scenario, warehouse: str) -> None:
    rows = scenario.runs[warehouse].marts["team_course_compliance_daily"].values()
    days = {r["calendar_date"] for r in rows}
    wanted = VARIABLES[warehouse]["history_days"]
    first = scenario.as_of.date() - dt.timedelta(days=wanted - 1)
    assert max(days) == scenario.as_of.date()
    assert min(days) >= first  # days before any link of the load held have no rows
    assert len(days) > wanted // 2
    last = {r["judged_at"] for r in rows if r["calendar_date"] == scenario.as_of.date()}
    assert last == {scenario.as_of}


# --- The last day is today -----------------------------------------------------------------


@pytest.mark.parametrize("warehouse", WAREHOUSES)
def test_the_last_day_is_todays_team_course_compliance(scenario: Scenario, warehouse: str) -> None:
    run = scenario.runs[warehouse]
    last_day = history.last_day(run.marts["team_course_compliance_daily"], scenario.as_of)
    assert last_day == run.marts["team_course_compliance"]
    # And independently of the warehouse: the two Python references agree.
    expected_last = history.last_day(run.expected["team_course_compliance_daily"], scenario.as_of)
    assert expected_last == run.today
    assert last_day


@pytest.mark.parametrize("warehouse", WAREHOUSES)
def test_dbt_build_ran_the_history_and_integrity_tests_and_all_passed(
    scenario: Scenario, warehouse: str
) -> None:
    results = scenario.runs[warehouse].dbt_results
    failed = [
        (r["unique_id"], r["status"]) for r in results if r["status"] not in ("success", "pass")
    ]
    assert not failed
    ids = [r["unique_id"] for r in results]
    assert any(i.endswith(".history_last_day_is_today") for i in ids)
    for mart in HISTORY_MARTS:
        assert f"model.litmos.{mart}" in ids
        assert any(i.startswith(f"test.litmos.litmos_unique_combination_{mart}_") for i in ids)
    # One integrity test per staging model (stg_litmos__removed_links: in the link ones).
    staging = [i for i in ids if i.startswith("model.litmos.stg_litmos__")]
    integrity = [i for i in ids if i.startswith("test.litmos.litmos_one_row_per_raw_key_")]
    assert len(integrity) == len(staging) - 1


# --- The history the account lived through -------------------------------------------------


def figures_on(run: Run, day: dt.date) -> dict[tuple[str, str], dict]:
    return {
        (team, course): row
        for (team, course, on), row in run.marts["team_course_compliance_daily"].items()
        if on == day
    }


def test_a_lapsed_completion_renewed_shows_expired_then_compliant(scenario: Scenario) -> None:
    (user, course), lapsed, renewed = scenario.renewed, scenario.lapsed_at, scenario.renewed_at
    results = {(r["UserId"], r["Id"]): r for r in scenario.loaded.rows("course_results")}
    achievements = [
        a
        for a in scenario.loaded.rows("achievements")
        if (a["UserId"], a["CourseId"]) == (user, course)
    ]
    learner = history.Learner(results[user, course], achievements)
    before, between, after = (
        lapsed - (renewed - lapsed) / 2,
        lapsed + (renewed - lapsed) / 2,
        renewed + dt.timedelta(seconds=1),
    )
    assert learner.state(before) == (True, lapsed)
    assert history.status(*learner.state(between), between, 30) == "expired"
    assert learner.state(after)[0]
    # In the warehouse: the learner's teams count one more expired learner while it lapsed.
    run = scenario.runs["duckdb"]
    teams = {
        m["TeamId"]
        for m in scenario.loaded.rows("team_users")
        if m["Id"] == user and history.holds(history.link_interval(m), between)
    }
    assert teams
    lapsed_day = figures_on(run, between.date())
    assert all(lapsed_day[team, course]["learners_expired"] >= 1 for team in teams)


def test_the_account_moved_learners_and_removed_assignments_within_the_year(
    scenario: Scenario,
) -> None:
    first_day = scenario.as_of - dt.timedelta(days=history.HISTORY_DAYS - 1)
    links = scenario.loaded.rows("team_users")
    left = {(m["Id"], m["UpdatedDate"]) for m in links if not m["Active"]}
    joined = {(m["Id"], m["CreatedDate"]) for m in links if m["Active"]}
    moves = [(u, at) for u, at in left & joined if at.replace(tzinfo=None) > first_day]
    assert moves, "no learner moved team within the history"
    removed = [
        a
        for a in scenario.loaded.rows("user_courses")
        if not a["Active"] and a["UpdatedDate"].replace(tzinfo=None) > first_day
    ]
    assert removed, "no assignment was removed within the history"
    added = [
        a
        for a in scenario.loaded.rows("user_courses")
        if a["CreatedDate"].replace(tzinfo=None) > first_day
    ]
    assert added


def test_figures_change_over_the_year(scenario: Scenario) -> None:
    # Assignments come and go, due dates pass, compliance lapses: the daily figures are
    # not today's figures copied back.
    rows = scenario.runs["duckdb"].marts["team_course_compliance_daily"]
    series: dict[tuple[str, str], list[dict]] = {}
    for (team, course, _day), row in sorted(rows.items(), key=lambda item: item[0][2]):
        series.setdefault((team, course), []).append(row)
    for figure in (
        "learners_assigned",
        "learners_overdue",
        "learners_expired",
        "learners_compliant",
    ):
        assert any(len({r[figure] for r in rows_of}) > 1 for rows_of in series.values()), figure
    overdue_began = [
        key
        for key, rows_of in series.items()
        if rows_of[0]["learners_overdue"] == 0 and rows_of[-1]["learners_overdue"] > 0
    ]
    assert overdue_began, "no due date passed within the history"
