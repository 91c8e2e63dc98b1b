"""The dbt models (transform/) against the sandbox's truth, in DuckDB and in PostgreSQL.

One sandbox account is loaded twice through Meltano into both warehouses, with changes in
Litmos between the loads, and `dbt build` (models and dbt's own tests) runs after each:

- DuckDB: `meltano run litmos-to-duckdb-models` (tap -> target-duckdb -> dbt-duckdb, the
  demo's job), the ILT fan-outs and the course custom field values selected, statuses
  judged at the time of the run;
- PostgreSQL (a real server, default zone US Pacific as in test_warehouse.py): tap ->
  target-postgres in meltano.yml's `append-only` environment (the streams' keys mapped
  away), so the loader appends every version of a row as an append-only target does (a
  removal is a second, Active = false version; a re-read at a window edge a second
  copy), then `meltano invoke dbt-postgres build` with
  the variables set (`litmos_as_of`, `litmos_expiring_days`), no fan-out loaded.

After each load every row of every mart is compared with the marts computed in Python
from the truth (tests/helpers/marts_reference.py, never from the SQL). The changes between the
loads are the cases that must change the answer, or must not: an assignment removed
(Active = false) whose only route it was, one removed route of an assignment that has
another, a learner moving to another team, an overdue course completed, achievements
added, and the re-read of the achievements at the bookmark's instant.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import typing as t
from pathlib import Path

import duckdb
import psycopg
import pytest
import yaml
from psycopg import sql

from litmos_sandbox import LitmosSandbox
from litmos_sandbox.spec import ORG_STREAMS
from tests.helpers import marts_reference as reference
from tests.helpers import servers
from tests.helpers.expect import API_KEY
from tests.helpers.meltano import ROOT, meltano_cli, meltano_env, run_meltano, target_postgres_env

if t.TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = pytest.mark.platform

UTC = dt.timezone.utc


#: The sandbox's /org/* changes fall within the year before today: a start a little over a
#: year back reads them all in as few 7-day windows as can be (and the newest achievements).
START_DATE = (dt.datetime.now(UTC) - dt.timedelta(days=370)).date()
START = dt.datetime.combine(START_DATE, dt.time(), UTC)
MARTS = tuple(reference.KEYS)
WAREHOUSES = ("duckdb", "postgres")
LOADS = ("first", "second")
RAW_SCHEMA = "litmos"
MARTS_SCHEMA = "analytics_litmos"  # the profile's schema + the marts' +schema
STAGING_SCHEMA = "analytics_stg_litmos"
DATABASE = "models"
#: The PostgreSQL run sets the variables; DuckDB keeps the defaults (30 days, now).
POSTGRES_EXPIRING_DAYS = 90
ILT_FAN_OUTS = ["ilt_rollcall.*", "ilt_attendance.*"]
#: The fan-outs the DuckDB load selects (the PostgreSQL one selects none).
DUCKDB_FAN_OUTS = [*ILT_FAN_OUTS, "course_custom_field_values.*"]


def default_selection() -> list[str]:
    """The streams meltano.yml selects (what a user's run extracts)."""
    project = yaml.safe_load((ROOT / "meltano.yml").read_text())
    (extractor,) = project["plugins"]["extractors"]
    return extractor["select"]


def utc_now() -> dt.datetime:
    return dt.datetime.now(UTC).replace(tzinfo=None)


@dataclasses.dataclass
class Load:
    """One load into one warehouse: the marts it holds and what they must be."""

    marts: dict[str, reference.Mart]
    expected: dict[str, reference.Mart]
    loaded: reference.Loaded
    as_of: dt.datetime
    dbt_results: list[dict]
    started: dt.datetime
    finished: dt.datetime


@dataclasses.dataclass
class Changes:
    """What changed in Litmos between the loads."""

    removed_only_route: tuple[str, str]  # (user, course) assigned directly only
    removed_one_route: tuple[str, str]  # (user, course) assigned directly and otherwise
    moved_user: str
    old_team: str
    new_team: str
    completed_overdue: tuple[str, str]
    boundary_achievements: set[int]
    added_achievements: set[int]


@dataclasses.dataclass
class Scenario:
    loads: dict[tuple[str, str], Load]  # (warehouse, load)
    changes: Changes
    duckdb_file: Path
    postgres_url: str
    dbt_targets: dict[str, Path]
    env: dict[str, dict[str, str]]


# --- Reading the warehouses ---------------------------------------------------------------


def keyed(mart: str, rows: list[dict]) -> reference.Mart:
    keys = reference.KEYS[mart]
    table = {tuple(row[k] for k in keys): row for row in rows}
    assert len(table) == len(rows), f"{mart}: a key appears twice"
    return table


def duckdb_marts(path: Path) -> dict[str, reference.Mart]:
    with duckdb.connect(str(path), read_only=True) as con:
        marts = {}
        for mart in MARTS:
            cursor = con.execute(f"select * from {MARTS_SCHEMA}.{mart}")  # noqa: S608
            names = [d[0] for d in cursor.description]
            marts[mart] = keyed(mart, [dict(zip(names, r)) for r in cursor.fetchall()])
        return marts


def postgres_rows(url: str, query: sql.Composable, *args: t.Any) -> list[dict]:
    with psycopg.connect(url) as con, con.cursor(row_factory=psycopg.rows.dict_row) as cur:
        return cur.execute(query, args).fetchall()


def postgres_marts(url: str) -> dict[str, reference.Mart]:
    return {
        mart: keyed(
            mart,
            postgres_rows(
                url, sql.SQL("select * from {}").format(sql.Identifier(MARTS_SCHEMA, mart))
            ),
        )
        for mart in MARTS
    }


def dbt_results(target: Path) -> list[dict]:
    return json.loads((target / "run_results.json").read_text())["results"]


# --- The scenario --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def postgres() -> Iterator[servers.Server]:
    yield from servers.pytest_server(
        lambda: servers.postgres_server(timezone="America/Los_Angeles")
    )


@pytest.fixture(scope="module")
def scenario(
    postgres: servers.Server, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Scenario]:
    tmp = tmp_path_factory.mktemp("dbt")
    with psycopg.connect(postgres.url, autocommit=True) as con:
        con.execute(sql.SQL("create database {}").format(sql.Identifier(DATABASE)))
    postgres_url = (
        f"postgresql://{servers.POSTGRES_USER}@{postgres.host}:{postgres.port}/{DATABASE}"
    )
    duckdb_file = tmp / "warehouse.duckdb"
    targets = {w: tmp / f"dbt-{w}" for w in WAREHOUSES}

    with LitmosSandbox(seed=11, users=40, achievements=400, api_key=API_KEY) as sandbox:
        common = {
            "TAP_LITMOS_API_URL": sandbox.base_url,
            "TAP_LITMOS_API_KEY": API_KEY,
            "TAP_LITMOS_START_DATE": START_DATE.isoformat(),
            "TAP_LITMOS_MAX_REQUESTS_PER_MINUTE": "0",
        }
        env = {
            "duckdb": meltano_env(
                tmp / "meltano.db",
                **common,
                TAP_LITMOS__SELECT=json.dumps(default_selection() + DUCKDB_FAN_OUTS),
                TARGET_DUCKDB_FILEPATH=str(duckdb_file),
                DBT_DUCKDB_PATH=str(duckdb_file),
                DBT_DUCKDB_TARGET_PATH=str(targets["duckdb"]),
                DBT_DUCKDB_LOG_PATH=str(targets["duckdb"]),
            ),
            "postgres": meltano_env(
                tmp / "meltano.db",
                **common,
                MELTANO_ENVIRONMENT="append-only",  # meltano.yml: the keys mapped away
                **target_postgres_env(postgres, DATABASE),
                DBT_POSTGRES_TARGET_PATH=str(targets["postgres"]),
                DBT_POSTGRES_LOG_PATH=str(targets["postgres"]),
            ),
        }
        meltano = {w: meltano_cli(env[w]) for w in WAREHOUSES}
        meltano["duckdb"]("install")  # every plugin: the tap, the loaders, both dbt utilities
        loads: dict[tuple[str, str], Load] = {}

        def load_both(name: str) -> None:
            started = utc_now()
            meltano["duckdb"]("run", "litmos-to-duckdb-models")
            finished = utc_now()
            marts = duckdb_marts(duckdb_file)
            (as_of,) = {r["as_of"] for r in marts["learner_course_assignments"].values()}
            loaded = reference.Loaded.from_sandbox(sandbox, START, ilt_fan_outs=True)
            loads["duckdb", name] = Load(
                marts,
                reference.marts(loaded, as_of),
                loaded,
                as_of,
                dbt_results(targets["duckdb"]),
                started,
                finished,
            )

            started = utc_now()
            meltano["postgres"]("run", "tap-litmos", "target-postgres")
            as_of = utc_now().replace(microsecond=0)
            variables = {"litmos_as_of": str(as_of), "litmos_expiring_days": POSTGRES_EXPIRING_DAYS}
            meltano["postgres"]("invoke", "dbt-postgres", "build", "--vars", json.dumps(variables))
            loaded = reference.Loaded.from_sandbox(sandbox, START, ilt_fan_outs=False)
            loads["postgres", name] = Load(
                postgres_marts(postgres_url),
                reference.marts(loaded, as_of, POSTGRES_EXPIRING_DAYS),
                loaded,
                as_of,
                dbt_results(targets["postgres"]),
                started,
                utc_now(),
            )

        load_both("first")
        changes = change_litmos(sandbox, loads["duckdb", "first"].expected)
        load_both("second")
        yield Scenario(loads, changes, duckdb_file, postgres_url, targets, env)


def change_litmos(sandbox: LitmosSandbox, before: dict[str, reference.Mart]) -> Changes:
    """The changes between the loads, picked from what the first load's answer holds."""
    assignments = before["learner_course_assignments"]
    teams_of: dict[str, set[str]] = {}
    for link in sandbox.truth("team_users"):
        if link["Active"]:
            teams_of.setdefault(link["Id"], set()).add(link["TeamId"])

    # A removal that must drop the assignment, and one that must only drop a route.
    only = next(k for k, r in sorted(assignments.items()) if r["routes"] == "direct")
    sandbox.remove_link("user_courses", only)
    one = next(
        k
        for k, r in sorted(assignments.items())
        if r["is_assigned_directly"] and r["is_assigned_via_team"] and k[0] != only[0]
    )
    sandbox.remove_link("user_courses", one)

    # A learner in exactly one team with team courses moves to a team with other courses.
    team_courses: dict[str, set[str]] = {}
    for link in sandbox.truth("team_courses"):
        if link["Active"]:
            team_courses.setdefault(link["TeamId"], set()).add(link["Id"])
    users = {u["Id"]: u for u in sandbox.truth("users")}
    moved, old_team = next(
        (user, next(iter(teams)))
        for user, teams in sorted(teams_of.items())
        if len(teams) == 1
        and users[user]["Active"]
        and team_courses.get(next(iter(teams)))
        and user not in (only[0], one[0])
    )
    new_team = next(
        team
        for team in sorted(team_courses)
        if team != old_team and team_courses[team] - team_courses[old_team]
    )
    sandbox.remove_link("team_users", (old_team, moved))
    sandbox.add("team_users", TeamId=new_team, Id=moved, IsTeamLeader=False, IsTeamAdmin=False)

    # An overdue course completed now, compliant for 20 days: overdue becomes expiring.
    overdue = next(
        k
        for k, r in sorted(assignments.items())
        if r["is_overdue"] and k not in (only, one) and k[0] != moved
    )
    now = sandbox.now()
    sandbox.touch(
        "course_results",
        overdue,
        Completed=True,
        CompletedDate=now,
        PercentageComplete=100,
        CompliantTillDate=now + dt.timedelta(days=20),
        Overdue=False,
    )

    # Achievements: the newest are read again by the second load (the bookmark's own
    # instant); new ones a day later land in a month no completion had.
    achievements = sandbox.truth("achievements")
    newest = max(r["AchievementDate"] for r in achievements)
    boundary = {r["AchievementId"] for r in achievements if r["AchievementDate"] == newest}
    course = min(r["Id"] for r in sandbox.truth("courses"))
    added = sandbox.add_achievements(
        count=3,
        achievement_date=newest.replace(tzinfo=None) + dt.timedelta(days=1),
        course_id=course,
        score="50",
    )
    return Changes(
        removed_only_route=only,
        removed_one_route=one,
        moved_user=moved,
        old_team=old_team,
        new_team=new_team,
        completed_overdue=overdue,
        boundary_achievements=boundary,
        added_achievements={a.achievement_id for a in added},
    )


# --- Every row of every mart ---------------------------------------------------------------


@pytest.mark.parametrize("load", LOADS)
@pytest.mark.parametrize("warehouse", WAREHOUSES)
@pytest.mark.parametrize("mart", MARTS)
def test_every_row_of_the_mart_is_the_truth(
    scenario: Scenario, warehouse: str, load: str, mart: str
) -> None:
    run = scenario.loads[warehouse, load]
    expected = run.expected[mart]
    assert expected, f"{mart}: the reference has no rows to compare with"
    assert not reference.differences(run.marts[mart], expected), "\n".join(
        reference.differences(run.marts[mart], expected)
    )


@pytest.mark.parametrize("load", LOADS)
@pytest.mark.parametrize("warehouse", WAREHOUSES)
def test_dbt_build_ran_every_model_and_test_and_all_passed(
    scenario: Scenario, warehouse: str, load: str
) -> None:
    results = scenario.loads[warehouse, load].dbt_results
    failed = [
        (r["unique_id"], r["status"], r.get("message"))
        for r in results
        if r["status"] not in ("success", "pass")
    ]
    assert not failed
    tests = [r["unique_id"] for r in results if r["unique_id"].startswith("test.")]
    models = {r["unique_id"].split(".")[-1] for r in results if r["unique_id"].startswith("model.")}
    assert set(MARTS) <= models
    assert {f"stg_litmos__{s}" for s in LitmosSandbox.streams()} <= models
    # Keys are unique, and references hold, within an account (source_relation): the
    # project's own generic tests where dbt's would compare ids across accounts.
    kinds = ("litmos_unique_combination", "not_null", "litmos_relationships", "accepted_values")
    for kind in kinds:
        assert any(f".{kind}_" in test for test in tests), kind
    for mart in MARTS:  # every mart has its key and its relationships tested
        assert any(f"litmos_unique_combination_{mart}_source_relation" in t for t in tests), mart
        assert any(f"litmos_relationships_{mart}_" in test for test in tests), mart


# --- The variety the answers need ----------------------------------------------------------


@pytest.mark.parametrize("warehouse", WAREHOUSES)
def test_the_account_has_every_status_and_route(scenario: Scenario, warehouse: str) -> None:
    rows = scenario.loads[warehouse, "first"].marts["learner_course_assignments"].values()
    assert {r["status"] for r in rows} == {"compliant", "expiring", "expired", "not_completed"}
    assert any(r["is_overdue"] for r in rows)
    assert any(r["route_count"] >= 3 for r in rows)
    for route in reference.ROUTES:
        assert any(route in r["routes"].split(", ") for r in rows), route
    paths = scenario.loads[warehouse, "first"].marts["learning_path_progress"].values()
    assert {r["status"] for r in paths} == {"completed", "in_progress", "not_started"}


def test_the_variables_change_the_answer(scenario: Scenario) -> None:
    # The PostgreSQL runs count 90 days as expiring and judge at the instant they are
    # given: the mart follows them, and the default 30 days would have answered otherwise.
    run = scenario.loads["postgres", "second"]
    statuses = {k: r["status"] for k, r in run.marts["learner_course_assignments"].items()}
    thirty = reference.learner_course_assignments(run.loaded, run.as_of, 30)
    assert statuses != {k: r["status"] for k, r in thirty.items()}
    assert {r["as_of"] for r in run.marts["learner_course_assignments"].values()} == {run.as_of}


def test_the_default_as_of_is_the_time_of_the_run_in_utc(scenario: Scenario) -> None:
    for load in LOADS:
        run = scenario.loads["duckdb", load]
        assert run.started <= run.as_of <= run.finished, load


# --- The changes between the loads ---------------------------------------------------------


def assignments(scenario: Scenario, warehouse: str, load: str) -> reference.Mart:
    return scenario.loads[warehouse, load].marts["learner_course_assignments"]


@pytest.mark.parametrize("warehouse", WAREHOUSES)
def test_removing_the_only_route_removes_the_assignment(scenario: Scenario, warehouse: str) -> None:
    key = scenario.changes.removed_only_route
    assert assignments(scenario, warehouse, "first")[key]["routes"] == "direct"
    assert key not in assignments(scenario, warehouse, "second")


@pytest.mark.parametrize("warehouse", WAREHOUSES)
def test_removing_one_route_keeps_the_assignment_by_the_others(
    scenario: Scenario, warehouse: str
) -> None:
    key = scenario.changes.removed_one_route
    before = assignments(scenario, warehouse, "first")[key]
    after = assignments(scenario, warehouse, "second")[key]
    assert before["is_assigned_directly"]
    assert not after["is_assigned_directly"]
    assert after["is_assigned_via_team"]
    assert after["route_count"] == before["route_count"] - 1
    assert after["assigned_at"] >= before["assigned_at"]


@pytest.mark.parametrize("warehouse", WAREHOUSES)
def test_a_learner_who_changes_team_moves_in_the_team_counts(
    scenario: Scenario, warehouse: str
) -> None:
    changes = scenario.changes
    user, old, new = changes.moved_user, changes.old_team, changes.new_team
    first, second = (scenario.loads[warehouse, load].marts for load in LOADS)
    new_courses = {
        c
        for (team, c) in scenario.loads[warehouse, "second"].expected["team_course_compliance"]
        if team == new
    }
    mine_before = {c for (u, c), r in first["learner_course_assignments"].items() if u == user}
    mine_after = {c for (u, c), r in second["learner_course_assignments"].items() if u == user}
    gained = mine_after - mine_before
    assert gained, "the new team brought no course the learner did not have"
    for course in gained:
        assert second["learner_course_assignments"][user, course]["is_assigned_via_team"]
        assert course in new_courses
        was = first["team_course_compliance"].get((new, course), {}).get("learners_assigned", 0)
        assert second["team_course_compliance"][new, course]["learners_assigned"] == was + 1
    for course in mine_before:
        was = first["team_course_compliance"].get((old, course))
        if was is None:
            continue  # a course the old team's members are not assigned through it
        now = second["team_course_compliance"].get((old, course), {"learners_assigned": 0})
        assert now["learners_assigned"] == was["learners_assigned"] - 1, course


@pytest.mark.parametrize("warehouse", WAREHOUSES)
def test_an_overdue_course_completed_becomes_expiring(scenario: Scenario, warehouse: str) -> None:
    key = scenario.changes.completed_overdue
    before = assignments(scenario, warehouse, "first")[key]
    after = assignments(scenario, warehouse, "second")[key]
    assert (before["status"], before["is_overdue"]) == ("not_completed", True)
    assert (after["status"], after["is_overdue"], after["is_completed"]) == (
        "expiring",
        False,
        True,
    )


def raw_achievement_ids(scenario: Scenario, warehouse: str) -> list[int]:
    if warehouse == "duckdb":
        with duckdb.connect(str(scenario.duckdb_file), read_only=True) as con:
            rows = con.execute(f'select "AchievementId" from {RAW_SCHEMA}.achievements').fetchall()  # noqa: S608
        return [r[0] for r in rows]
    query = sql.SQL('select "AchievementId" from {}').format(
        sql.Identifier(RAW_SCHEMA, "achievements")
    )
    return [r["AchievementId"] for r in postgres_rows(scenario.postgres_url, query)]


@pytest.mark.parametrize("warehouse", WAREHOUSES)
def test_the_re_read_at_the_window_edge_changes_no_count(
    scenario: Scenario, warehouse: str
) -> None:
    changes = scenario.changes
    raw = raw_achievement_ids(scenario, warehouse)
    copies = {aid: raw.count(aid) for aid in changes.boundary_achievements}
    # DuckDB's loader upserts the re-read rows; PostgreSQL's, keys mapped away, appends them.
    assert set(copies.values()) == ({1} if warehouse == "duckdb" else {2})
    assert all(raw.count(aid) == 1 for aid in changes.added_achievements)

    first, second = (
        scenario.loads[warehouse, load].marts["course_completions_by_month"] for load in LOADS
    )
    newest = max(first, key=lambda key: key[1])[1]
    assert {k: r for k, r in second.items() if k[1] <= newest} == first
    added = {k: r for k, r in second.items() if k[1] > newest}
    assert [r["completions"] for r in added.values()] == [3]
    assert [r["mean_score"] for r in added.values()] == [50]


def test_the_append_only_tables_keep_every_version(scenario: Scenario) -> None:
    # The staging models pick the latest version: the removal, not the older active link.
    user, course = scenario.changes.removed_only_route
    query = sql.SQL('select "Active" from {} where "UserId" = %s and "Id" = %s').format(
        sql.Identifier(RAW_SCHEMA, "user_courses")
    )
    versions = [r["Active"] for r in postgres_rows(scenario.postgres_url, query, user, course)]
    assert sorted(versions) == [False, True]
    query = sql.SQL(
        "select link_stream, parent_id, child_id from {} where link_stream = 'user_courses'"
    ).format(sql.Identifier(STAGING_SCHEMA, "stg_litmos__removed_links"))
    removed = {(r["parent_id"], r["child_id"]) for r in postgres_rows(scenario.postgres_url, query)}
    assert {(user, course), scenario.changes.removed_one_route} <= removed
    expected = {
        (r["UserId"], r["Id"])
        for r in scenario.loads["postgres", "second"].loaded.rows("user_courses")
        if not r["Active"]
    }
    assert removed == expected


def test_fan_out_streams_not_loaded_leave_empty_models_and_null_counts(scenario: Scenario) -> None:
    for model in (
        "stg_litmos__user_badges",
        "stg_litmos__course_custom_field_values",
        "stg_litmos__ilt_rollcall",
        "stg_litmos__ilt_attendance",
    ):
        query = sql.SQL("select count(*) as n from {}").format(
            sql.Identifier(STAGING_SCHEMA, model)
        )
        assert postgres_rows(scenario.postgres_url, query) == [{"n": 0}], model
    sessions = scenario.loads["postgres", "second"].marts["ilt_session_attendance"].values()
    assert {(r["learners_registered"], r["learners_attended"]) for r in sessions} == {(None, None)}
    loaded = scenario.loads["duckdb", "second"].marts["ilt_session_attendance"].values()
    assert any(r["learners_attended"] for r in loaded)
    assert any(r["attendance_rate"] is not None for r in loaded)


def warehouse_rows(scenario: Scenario, warehouse: str, schema: str, table: str) -> list[dict]:
    if warehouse == "postgres":
        query = sql.SQL("select * from {}").format(sql.Identifier(schema, table))
        return postgres_rows(scenario.postgres_url, query)
    with duckdb.connect(str(scenario.duckdb_file), read_only=True) as con:
        cursor = con.execute(f"select * from {schema}.{table}")  # noqa: S608
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, r)) for r in cursor.fetchall()]


@pytest.mark.parametrize("warehouse", WAREHOUSES)
def test_course_custom_fields_give_every_course_each_field_with_its_label_and_value(
    scenario: Scenario, warehouse: str
) -> None:
    loaded = scenario.loads[warehouse, "second"].loaded
    values_loaded = warehouse == "duckdb"  # the PostgreSQL load selects no fan-out

    def as_loaded(text: str | None) -> str | None:
        # target-duckdb's CSV load reads an empty text as null (PostgreSQL keeps it).
        return (text or None) if warehouse == "duckdb" else text

    values = {
        (v["CourseId"], v["fieldname"]): v["Value"]
        for v in (loaded.rows("course_custom_field_values") if values_loaded else [])
    }
    expected = {}
    for course in loaded.rows("courses"):
        for field in loaded.rows("course_custom_fields"):
            value = values.get((course["Id"], field["Label"]))
            expected[course["Id"], field["CustomFieldId"]] = {
                "source_relation": reference.DEFAULT_SOURCE_RELATION,
                "course_id": course["Id"],
                "course_code": course["Code"],
                "course_name": course["Name"],
                "custom_field_id": field["CustomFieldId"],
                "label": field["Label"],
                "field_type": field["Type"],
                "value": as_loaded(value),
                "has_value": (course["Id"], field["Label"]) in values if values_loaded else None,
                "default_value": as_loaded(field["DefaultValue"]),
                "is_mandatory": field["Mandatory"],
                "is_visible_to_learner": field["VisibleToLearner"],
            }
    rows = warehouse_rows(scenario, warehouse, MARTS_SCHEMA, "course_custom_fields")
    assert next(iter(rows[0])) == "source_relation"  # the account first
    got = {(r["course_id"], r["custom_field_id"]): r for r in rows}
    fields_defined = len(loaded.rows("course_custom_fields"))
    assert len(got) == len(rows) == len(loaded.rows("courses")) * fields_defined
    assert sorted(got) == sorted(expected)
    for key, row in got.items():
        assert row == expected[key], key
    if values_loaded:
        assert any(r["has_value"] for r in rows) and not all(r["has_value"] for r in rows)
    # The dropdown's choices, as the text of a JSON array in both warehouses.
    fields = warehouse_rows(scenario, warehouse, STAGING_SCHEMA, "stg_litmos__course_custom_fields")
    choices = {f["label"]: json.loads(f["dropdown_choices"]) for f in fields}
    assert choices == {f["Label"]: f["Dropdown"] for f in loaded.rows("course_custom_fields")}


def test_source_freshness_reads_the_replication_keys(scenario: Scenario) -> None:
    run_meltano(scenario.env["duckdb"], "invoke", "dbt-duckdb:freshness")
    sources = json.loads((scenario.dbt_targets["duckdb"] / "sources.json").read_text())["results"]
    loaded = scenario.loads["duckdb", "second"].loaded
    checked = {}
    for result in sources:
        checked[result["unique_id"].rsplit(".", 1)[-1]] = result
    assert set(checked) == {*ORG_STREAMS, "achievements"}
    for stream, result in checked.items():
        field = {"login_activity": "LoginDate", "achievements": "AchievementDate"}.get(
            stream, "UpdatedDate"
        )
        newest = max(r[field] for r in loaded.rows(stream))
        got = dt.datetime.fromisoformat(result["max_loaded_at"])
        assert got.replace(tzinfo=got.tzinfo or UTC) == newest, stream
        age = dt.datetime.fromisoformat(result["snapshotted_at"]).replace(tzinfo=UTC) - newest
        want = (
            "pass"
            if age < dt.timedelta(days=2)
            else "warn"
            if age < dt.timedelta(days=7)
            else "error"
        )
        assert result["status"] == want, (stream, age)


def test_the_lineage_in_the_docs_is_the_projects(scenario: Scenario) -> None:
    from scripts import dbt_lineage

    manifest = json.loads((scenario.dbt_targets["duckdb"] / "manifest.json").read_text())
    mermaid = dbt_lineage.diagram(manifest)
    for mart in MARTS:
        assert f'model_{mart}["{mart}"]' in mermaid
    document = (ROOT / "docs" / "dbt.md").read_text()
    assert dbt_lineage.with_diagram(document, mermaid) == document, (
        "docs/dbt.md's lineage drifted: python3 scripts/regenerate.py (after meltano install)"
    )
