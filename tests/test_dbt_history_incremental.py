"""The daily history mart built incrementally equals a full rebuild and the truth.

One sandbox account loaded through Meltano into DuckDB (an upserting loader), and into a
real PostgreSQL (the `append-only` environment: every version kept), and built
(`litmos_as_of` unset: judged now, as a scheduled pipeline runs); then Litmos changes (an
achievement dated weeks back, an assignment removed, one made, an overdue course
completed), the tap loads incrementally and dbt builds incrementally. Every row of
`team_course_compliance_daily` is compared with tests/helpers/history_reference.py and
with a `--full-refresh` build of the same data, and the incremental run is shown to have
rebuilt only the days from the earliest change on (each row says what it was built from:
`built_from_extracted_at`).
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
from tests.test_dbt_history import BOOKKEEPING, MARTS_SCHEMA, START, START_DATE

if t.TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

pytestmark = pytest.mark.platform

MART = "team_course_compliance_daily"
KEYS = history.KEYS[MART]
LATE_BY = dt.timedelta(days=40)
WAREHOUSES = ("duckdb", "postgres")
DATABASE = "history_incremental"


@dataclasses.dataclass
class Build:
    """One dbt build's daily mart: its rows (with the bookkeeping), its as_of, its truth."""

    rows: dict[tuple, dict]
    as_of: dt.datetime
    expected: reference.Mart

    def figures(self) -> reference.Mart:
        return {
            k: {c: v for c, v in r.items() if c not in BOOKKEEPING} for k, r in self.rows.items()
        }


@dataclasses.dataclass
class Scenario:
    first: Build
    incremental: Build
    full_refresh: Build
    late_achievement_day: dt.date
    earliest_change: dt.date


def keyed(rows: list[dict]) -> tuple[dict[tuple, dict], dt.datetime]:
    table = {tuple(r[k] for k in KEYS): r for r in rows}
    assert len(table) == len(rows), f"{MART}: a key appears twice"
    return table, max(r["judged_at"] for r in rows)


def read_duckdb(path: Path) -> tuple[dict[tuple, dict], dt.datetime]:
    with duckdb.connect(str(path), read_only=True) as con:
        cursor = con.execute(f"select * from {MARTS_SCHEMA}.{MART}")  # noqa: S608
        names = [d[0] for d in cursor.description]
        return keyed([dict(zip(names, r)) for r in cursor.fetchall()])


def read_postgres(url: str) -> tuple[dict[tuple, dict], dt.datetime]:
    with psycopg.connect(url) as con, con.cursor(row_factory=psycopg.rows.dict_row) as cur:
        query = sql.SQL("select * from {}").format(sql.Identifier(MARTS_SCHEMA, MART))
        return keyed(cur.execute(query).fetchall())


def naive(value: dt.datetime) -> dt.datetime:
    return value.astimezone(dt.timezone.utc).replace(tzinfo=None)


def change_litmos(sandbox: LitmosSandbox) -> tuple[dt.date, dt.date]:
    """Late, removed, new and completed.

    Returns the late achievement's day, and the earliest day the changes can change
    (docs/dbt.md, "Incremental builds"): the late achievement's, the completed result's
    previous instant (its UpdatedDate: the days from it on were judged by it), or today.
    """
    now = sandbox.now()
    users = {u["Id"]: u for u in sandbox.truth("users") if u["Active"]}
    in_team = {m["Id"] for m in sandbox.truth("team_users") if m["Active"] and m["Id"] in users}
    direct = sorted((a["UserId"], a["Id"]) for a in sandbox.truth("user_courses") if a["Active"])
    results = {(r["UserId"], r["Id"]): r for r in sandbox.truth("course_results") if r["Active"]}
    achieved = {(a["UserId"], a["CourseId"]) for a in sandbox.truth("achievements")}
    counted = [k for k in direct if k[0] in in_team and k in results]

    # An achievement recorded late: dated weeks back, of a course whose result has not
    # been updated since (so the achievement is the learner's state from its date on).
    late_day = (now - LATE_BY).replace(hour=10, minute=0, second=0, microsecond=0)
    late = next(
        k
        for k in counted
        if k not in achieved
        and not results[k]["Completed"]
        and naive(results[k]["UpdatedDate"]) < late_day - dt.timedelta(days=30)
    )
    sandbox.add_achievements(
        count=1,
        user_id=late[0],
        course_id=late[1],
        achievement_date=late_day,
        compliant_till_date=late_day + dt.timedelta(days=365),
    )
    # A removal, and an overdue course completed now.
    removed = next(k for k in counted if k != late)
    sandbox.remove_link("user_courses", removed)
    overdue = max(
        (
            k
            for k in counted
            if k not in (late, removed)
            and not results[k]["Completed"]
            and results[k]["DueDate"] is not None
            and naive(results[k]["DueDate"]) < now
        ),
        key=lambda k: naive(results[k]["UpdatedDate"]),
    )
    previous_instant = naive(results[overdue]["UpdatedDate"]).date()
    sandbox.touch(
        "course_results",
        overdue,
        Completed=True,
        CompletedDate=now,
        PercentageComplete=100,
        CompliantTillDate=now + dt.timedelta(days=20),
        Overdue=False,
    )
    # A new assignment of a course the learner did not have.
    learner = next(k[0] for k in counted if k[0] not in (late[0], removed[0], overdue[0]))
    had = {c for u, c in direct if u == learner}
    course = next(
        c["Id"]
        for c in sorted(sandbox.truth("courses"), key=lambda c: c["Id"])
        if c["Id"] not in had
    )
    sandbox.add("user_courses", UserId=learner, Id=course)
    return late_day.date(), min(late_day.date(), previous_instant, now.date())


@pytest.fixture(scope="module")
def postgres() -> Iterator[servers.Server]:
    yield from servers.pytest_server(servers.postgres_server)


@pytest.fixture(scope="module", params=WAREHOUSES)
def scenario(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    warehouse = request.param
    tmp = tmp_path_factory.mktemp(f"dbt-history-incremental-{warehouse}")
    duckdb_file = tmp / "warehouse.duckdb"
    target = tmp / f"dbt-{warehouse}"
    variables = json.dumps(
        {"litmos_history_days": history.HISTORY_DAYS, "litmos_expiring_days": history.EXPIRING_DAYS}
    )
    if warehouse == "duckdb":
        loader: dict[str, str] = {
            "TARGET_DUCKDB_FILEPATH": str(duckdb_file),
            "DBT_DUCKDB_PATH": str(duckdb_file),
        }

        def read() -> tuple[dict[tuple, dict], dt.datetime]:
            return read_duckdb(duckdb_file)
    else:
        server = request.getfixturevalue("postgres")
        with psycopg.connect(server.url, autocommit=True) as con:
            con.execute(sql.SQL("create database {}").format(sql.Identifier(DATABASE)))
        url = f"postgresql://{servers.POSTGRES_USER}@{server.host}:{server.port}/{DATABASE}"
        # Append-only: every version of a row kept, so a change is compared with the
        # version before it.
        loader = {
            "MELTANO_ENVIRONMENT": "append-only",
            **target_postgres_env(server, DATABASE),
        }

        def read() -> tuple[dict[tuple, dict], dt.datetime]:
            return read_postgres(url)

    upper = warehouse.upper()
    with LitmosSandbox(seed=5, users=40, achievements=600, api_key=API_KEY) as sandbox:
        meltano = meltano_cli(
            meltano_env(
                tmp / "meltano.db",
                TAP_LITMOS_API_URL=sandbox.base_url,
                TAP_LITMOS_API_KEY=API_KEY,
                TAP_LITMOS_START_DATE=START_DATE.isoformat(),
                TAP_LITMOS_MAX_REQUESTS_PER_MINUTE="0",
                TAP_LITMOS__SELECT=json.dumps(default_selection()),
                **loader,
                **{f"DBT_{upper}_TARGET_PATH": str(target), f"DBT_{upper}_LOG_PATH": str(target)},
            )
        )
        meltano("install")

        def build(*options: str) -> Build:
            meltano("invoke", f"dbt-{warehouse}", "build", "--vars", variables, *options)
            rows, as_of = read()
            loaded = reference.Loaded.from_sandbox(sandbox, START, ilt_fan_outs=False)
            return Build(rows, as_of, history.team_course_compliance_daily(loaded, as_of))

        meltano("run", "tap-litmos", f"target-{warehouse}")
        first = build()
        late_day, earliest_change = change_litmos(sandbox)
        meltano("run", "tap-litmos", f"target-{warehouse}")
        incremental = build()
        full_refresh = build("--full-refresh")
    return Scenario(first, incremental, full_refresh, late_day, earliest_change)


def test_the_first_build_is_the_truth(scenario: Scenario) -> None:
    got, want = scenario.first.figures(), scenario.first.expected
    assert not differences(got, want), "\n".join(differences(got, want))


def test_the_incremental_build_is_the_truth(scenario: Scenario) -> None:
    got, want = scenario.incremental.figures(), scenario.incremental.expected
    assert scenario.incremental.expected != scenario.first.expected, "the changes changed nothing"
    assert not differences(got, want), "\n".join(differences(got, want))


def test_the_full_refresh_is_the_truth(scenario: Scenario) -> None:
    got, want = scenario.full_refresh.figures(), scenario.full_refresh.expected
    assert not differences(got, want), "\n".join(differences(got, want))


def test_the_incremental_build_equals_the_full_refresh(scenario: Scenario) -> None:
    """Row by row; the last day's judged_at is each build's own as_of."""

    def comparable(build: Build) -> reference.Mart:
        return {
            k: {c: v for c, v in r.items() if not (c == "judged_at" and v == build.as_of)}
            for k, r in build.figures().items()
        }

    got, want = comparable(scenario.incremental), comparable(scenario.full_refresh)
    assert not differences(got, want), "\n".join(differences(got, want))


def test_the_incremental_build_rebuilt_only_the_days_from_the_earliest_change(
    scenario: Scenario,
) -> None:
    stamps = {r["built_from_extracted_at"] for r in scenario.first.rows.values()}
    assert len(stamps) == 1
    (first_stamp,) = stamps
    rebuilt = {
        r["calendar_date"]
        for r in scenario.incremental.rows.values()
        if r["built_from_extracted_at"] != first_stamp
    }
    kept = {
        r["calendar_date"]
        for r in scenario.incremental.rows.values()
        if r["built_from_extracted_at"] == first_stamp
    }
    # Every day from the day before the earliest change (an event at midnight shows on
    # the day before) rebuilt; the days before the first one rebuilt kept from the first
    # build. The load may bring other rows dated earlier (achievements the first load
    # had not seen), so the first day rebuilt may be earlier than the changes made here.
    assert min(rebuilt) <= scenario.earliest_change - dt.timedelta(days=1)
    assert kept, "the incremental run rebuilt every day of the window"
    assert max(kept) < min(rebuilt)
    assert rebuilt == {d for d in rebuilt | kept if d >= min(rebuilt)}
