"""Several Litmos accounts in one warehouse: the dbt models keep each account's rows apart.

Two sandbox accounts, generated with one `id_seed` and different seeds, share their user,
course, team and achievement ids while every value behind them differs: the collision a
warehouse of two real accounts has (ids are unique only within an account). Each is
loaded through Meltano into its own schema (`litmos_us`, `litmos_eu`), with a state of its
own (`--state-id-suffix`), into one DuckDB file and into a real PostgreSQL; `dbt build`
then runs once with `litmos_schemas` naming both (`us` with a label, `eu` by its schema's
name). Only the `us` account selects the opt-in fan-outs, so `eu`'s session counts are
unknown (null) while `us`'s are counted.

Every staging model must hold each account's rows, with its `source_relation`, keyed as
that account's truth is (and its distinguishing values); every mart must equal, row by
row, the marts computed in Python from each account's own truth
(tests/helpers/marts_reference.py, once per account); nothing is merged. Then Litmos
changes in `eu` only, `eu` alone is loaded again and the models rebuilt: `eu`'s rows
follow, `us`'s stay exactly as they were.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import typing as t

import duckdb
import psycopg
import pytest
import yaml
from psycopg import sql

from litmos_sandbox import LitmosSandbox
from tests.helpers import marts_reference as reference
from tests.helpers import servers
from tests.helpers.expect import API_KEY
from tests.helpers.meltano import ROOT, meltano_cli, meltano_env, target_postgres_env

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

pytestmark = pytest.mark.platform

UTC = dt.timezone.utc
START_DATE = (dt.datetime.now(UTC) - dt.timedelta(days=370)).date()
START = dt.datetime.combine(START_DATE, dt.time(), UTC)
#: The instant statuses are judged at (both builds, both warehouses): whole seconds, UTC.
AS_OF = (dt.datetime.now(UTC) - dt.timedelta(hours=1)).replace(microsecond=0, tzinfo=None)
WAREHOUSES = ("duckdb", "postgres")
DATABASE = "accounts"
MARTS_SCHEMA = "analytics_litmos"
STAGING_SCHEMA = "analytics_stg_litmos"
ID_SEED = 5
FAN_OUTS = [
    "user_badges.*",
    "course_custom_field_values.*",
    "ilt_rollcall.*",
    "ilt_attendance.*",
]


@dataclasses.dataclass(frozen=True)
class Account:
    name: str
    seed: int
    schema: str
    label: str | None
    fan_outs: bool

    @property
    def source_relation(self) -> str:
        return self.label or self.schema

    @property
    def variable(self) -> str | dict[str, str]:
        """Its entry in `litmos_schemas`."""
        return {"schema": self.schema, "label": self.label} if self.label else self.schema


ACCOUNTS = (
    Account("us", seed=11, schema="litmos_us", label="us", fan_outs=True),
    Account("eu", seed=23, schema="litmos_eu", label=None, fan_outs=False),
)
VARIABLES = {
    "litmos_schemas": [a.variable for a in ACCOUNTS],
    "litmos_as_of": str(AS_OF),
}

# --- What each staging model holds, from the truth of its stream -------------------------

#: model -> (stream, its key (staging column, truth field) pairs, some values' pairs).
STAGING: dict[str, tuple[str, tuple[tuple[str, str], ...], tuple[tuple[str, str], ...]]] = {
    "users": ("users", (("user_id", "Id"),), (("full_name", "FullName"), ("is_active", "Active"))),
    "courses": ("courses", (("course_id", "Id"),), (("course_name", "Name"),)),
    "course_custom_fields": (
        "course_custom_fields",
        (("custom_field_id", "CustomFieldId"),),
        (("label", "Label"), ("is_mandatory", "Mandatory")),
    ),
    "course_custom_field_values": (
        "course_custom_field_values",
        (("course_id", "CourseId"), ("label", "fieldname")),
        (("value", "Value"),),
    ),
    "teams": (
        "teams",
        (("team_id", "Id"),),
        (("team_name", "Name"), ("parent_team_id", "ParentTeamId")),
    ),
    "learning_paths": (
        "learning_paths",
        (("learning_path_id", "Id"),),
        (("learning_path_name", "Name"),),
    ),
    "instructors": ("instructors", (("user_id", "Id"),), (("user_name", "UserName"),)),
    "locations": ("locations", (("location_id", "LocationId"),), (("location_name", "Location"),)),
    "ilt_sessions": (
        "ilt_sessions",
        (("session_id", "Id"),),
        (("course_id", "CourseId"), ("starts_at", "StartDate")),
    ),
    "ilt_session_days": (
        "ilt_session_days",
        (("session_day_id", "Id"),),
        (("session_id", "SessionId"), ("starts_at", "StartDate")),
    ),
    "user_badges": (
        "user_badges",
        (("user_id", "UserId"), ("badge_id", "ID")),
        (("title", "Title"),),
    ),
    "ilt_rollcall": (
        "ilt_rollcall",
        (("session_id", "SessionId"), ("user_id", "Id")),
        (("email", "Email"),),
    ),
    "ilt_attendance": (
        "ilt_attendance",
        (("session_id", "SessionId"), ("user_id", "Id")),
        (("is_completed", "Completed"),),
    ),
    "course_results": (
        "course_results",
        (("user_id", "UserId"), ("course_id", "Id")),
        (("is_completed", "Completed"), ("updated_at", "UpdatedDate")),
    ),
    "module_results": (
        "module_results",
        (("module_result_id", "ModuleResultId"),),
        (("user_id", "UserId"), ("module_id", "Id"), ("updated_at", "UpdatedDate")),
    ),
    "learning_path_results": (
        "learning_path_results",
        (("user_id", "UserId"), ("learning_path_id", "Id")),
        (("is_completed", "Completed"), ("updated_at", "UpdatedDate")),
    ),
    "user_courses": (
        "user_courses",
        (("user_id", "UserId"), ("course_id", "Id")),
        (("created_at", "CreatedDate"),),
    ),
    "user_learning_paths": (
        "user_learning_paths",
        (("learning_path_id", "LearningPathId"), ("user_id", "Id")),
        (("created_at", "CreatedDate"),),
    ),
    "team_users": (
        "team_users",
        (("team_id", "TeamId"), ("user_id", "Id")),
        (("created_at", "CreatedDate"),),
    ),
    "team_courses": (
        "team_courses",
        (("team_id", "TeamId"), ("course_id", "Id")),
        (("created_at", "CreatedDate"),),
    ),
    "team_learning_paths": (
        "team_learning_paths",
        (("team_id", "TeamId"), ("learning_path_id", "Id")),
        (("created_at", "CreatedDate"),),
    ),
    "learning_path_courses": (
        "learning_path_courses",
        (("learning_path_id", "LearningPathId"), ("course_id", "Id")),
        (("created_at", "CreatedDate"),),
    ),
    "course_modules": (
        "course_modules",
        (("course_id", "CourseId"), ("module_id", "Id")),
        (("created_at", "CreatedDate"),),
    ),
    "login_activity": (
        "login_activity",
        (("user_id", "UserId"), ("logged_in_at", "LoginDate")),
        (("ip_address", "IPAddress"),),
    ),
    "achievements": (
        "achievements",
        (("achievement_id", "AchievementId"),),
        (
            ("user_id", "UserId"),
            ("course_or_learning_path_id", "CourseId"),
            ("achieved_at", "AchievementDate"),
        ),
    ),
}
#: The link streams: their staging models hold the current links, removed_links the rest.
LINKS = {
    "user_courses": ("UserId", "Id"),
    "user_learning_paths": ("LearningPathId", "Id"),
    "team_users": ("TeamId", "Id"),
    "team_courses": ("TeamId", "Id"),
    "team_learning_paths": ("TeamId", "Id"),
    "learning_path_courses": ("LearningPathId", "Id"),
    "course_modules": ("CourseId", "Id"),
}
MODELS = (*(f"stg_litmos__{m}" for m in STAGING), "stg_litmos__removed_links")
MARTS = tuple(reference.KEYS)

Rows = dict[tuple, dict]  # (source_relation, *key) -> row


def warehouse_value(value: t.Any) -> t.Any:
    """A truth value as the staging models hold it: date-times as zone-less UTC, and an
    empty text as null (target-duckdb loads it so; target-postgres keeps it)."""
    if isinstance(value, dt.datetime):
        return reference.utc(value)
    return None if value == "" else value


def staging_truth(account: Account, loaded: reference.Loaded, model: str) -> Rows:
    """Model `model`'s rows for one account: keys and the listed values, from the truth."""
    relation = account.source_relation
    if model == "stg_litmos__removed_links":
        rows = {}
        for stream, (parent, child) in LINKS.items():
            for link in loaded.rows(stream):
                if not link["Active"]:
                    rows[relation, stream, link[parent], link[child]] = {
                        "source_relation": relation,
                        "removed_at": reference.utc(link["UpdatedDate"]),
                    }
        return rows
    stream, key, values = STAGING[model.removeprefix("stg_litmos__")]
    fan_outs = ("user_badges", "course_custom_field_values", "ilt_rollcall", "ilt_attendance")
    if stream in fan_outs and not account.fan_outs:
        return {}
    source = loaded.current(stream) if stream in LINKS else loaded.rows(stream)
    return {
        (relation, *(warehouse_value(row[field]) for _, field in key)): {
            "source_relation": relation,
            **{column: warehouse_value(row[field]) for column, field in values},
        }
        for row in source
    }


def staging_rows(model: str, rows: list[dict]) -> Rows:
    if model == "stg_litmos__removed_links":
        columns: tuple[str, ...] = ("link_stream", "parent_id", "child_id")
        wanted: tuple[str, ...] = ("source_relation", "removed_at")
    else:
        _, key, values = STAGING[model.removeprefix("stg_litmos__")]
        columns = tuple(c for c, _ in key)
        wanted = ("source_relation", *(c for c, _ in values))
    table = {
        (r["source_relation"], *(r[c] for c in columns)): {
            c: None if r[c] == "" else r[c] for c in wanted
        }
        for r in rows
    }
    assert len(table) == len(rows), f"{model}: a key appears twice"
    return table


def mart_rows(mart: str, rows: list[dict]) -> Rows:
    table = {tuple(r[k] for k in reference.ACCOUNT_KEYS[mart]): r for r in rows}
    assert len(table) == len(rows), f"{mart}: a key appears twice"
    return table


# --- The warehouses ---------------------------------------------------------------------


@dataclasses.dataclass
class Built:
    """One build of the models: every staging model's and mart's rows, by account and key."""

    staging: dict[str, Rows]
    marts: dict[str, Rows]
    columns: dict[str, list[str]]  # model -> its columns, in order


@dataclasses.dataclass
class Scenario:
    sandboxes: dict[str, LitmosSandbox]
    loaded: dict[tuple[str, str], reference.Loaded]  # (account, "first" | "second")
    builds: dict[tuple[str, str], Built]  # (warehouse, "first" | "second")
    dbt_failures: dict[tuple[str, str], list]


def read_duckdb(path: Path) -> Callable[[str, str], tuple[list[str], list[dict]]]:
    def read(schema: str, relation: str) -> tuple[list[str], list[dict]]:
        with duckdb.connect(str(path), read_only=True) as con:
            cursor = con.execute(f"select * from {schema}.{relation}")  # noqa: S608
            names = [d[0] for d in cursor.description]
            return names, [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]

    return read


def read_postgres(url: str) -> Callable[[str, str], tuple[list[str], list[dict]]]:
    def read(schema: str, relation: str) -> tuple[list[str], list[dict]]:
        query = sql.SQL("select * from {}").format(sql.Identifier(schema, relation))
        with psycopg.connect(url) as con, con.cursor(row_factory=psycopg.rows.dict_row) as cur:
            rows = cur.execute(query).fetchall()
            return [d.name for d in cur.description or ()], rows

    return read


def built(read: Callable[[str, str], tuple[list[str], list[dict]]]) -> Built:
    staging, marts, columns = {}, {}, {}
    for model in MODELS:
        columns[model], rows = read(STAGING_SCHEMA, model)
        staging[model] = staging_rows(model, rows)
    for mart in MARTS:
        columns[mart], rows = read(MARTS_SCHEMA, mart)
        marts[mart] = mart_rows(mart, rows)
    return Built(staging, marts, columns)


def default_selection() -> list[str]:
    project = yaml.safe_load((ROOT / "meltano.yml").read_text())
    (extractor,) = project["plugins"]["extractors"]
    return extractor["select"]


def failures(target: Path) -> list:
    results = json.loads((target / "run_results.json").read_text())["results"]
    return [
        (r["unique_id"], r["status"]) for r in results if r["status"] not in ("success", "pass")
    ]


@pytest.fixture(scope="module")
def postgres() -> Iterator[servers.Server]:
    yield from servers.pytest_server(
        lambda: servers.postgres_server(timezone="America/Los_Angeles")
    )


def change_eu(sandbox: LitmosSandbox) -> None:
    """Changes in Litmos in the `eu` account only: a removed assignment, a completed
    course, new achievements."""
    link = next(r for r in sorted(sandbox.truth("user_courses"), key=str) if r["Active"])
    sandbox.remove_link("user_courses", (link["UserId"], link["Id"]))
    result = next(r for r in sorted(sandbox.truth("course_results"), key=str) if not r["Completed"])
    now = sandbox.now()
    sandbox.touch(
        "course_results",
        (result["UserId"], result["Id"]),
        Completed=True,
        CompletedDate=now,
        PercentageComplete=100,
        CompliantTillDate=now + dt.timedelta(days=20),
    )
    course = min(r["Id"] for r in sandbox.truth("courses"))
    sandbox.add_achievements(count=2, course_id=course, score="75")


@dataclasses.dataclass
class Pipelines:
    """Meltano for each warehouse (its own system database, so its own state) and each
    account (its sandbox, selection and raw schema), and dbt over both accounts."""

    tmp: Path
    sandboxes: dict[str, LitmosSandbox]
    duckdb_file: Path
    postgres: servers.Server
    postgres_url: str

    def target(self, warehouse: str) -> Path:
        return self.tmp / f"dbt-{warehouse}"

    def meltano(self, warehouse: str, account: Account | None = None) -> Callable[..., str]:
        extra = {
            "DBT_DUCKDB_PATH": str(self.duckdb_file),
            **target_postgres_env(self.postgres, DATABASE),
            f"DBT_{warehouse.upper()}_TARGET_PATH": str(self.target(warehouse)),
            f"DBT_{warehouse.upper()}_LOG_PATH": str(self.target(warehouse)),
        }
        if account is not None:
            selection = default_selection() + (FAN_OUTS if account.fan_outs else [])
            extra |= {
                "TAP_LITMOS_API_URL": self.sandboxes[account.name].base_url,
                "TAP_LITMOS_API_KEY": API_KEY,
                "TAP_LITMOS_START_DATE": START_DATE.isoformat(),
                "TAP_LITMOS_MAX_REQUESTS_PER_MINUTE": "0",
                "TAP_LITMOS__SELECT": json.dumps(selection),
                "TARGET_DUCKDB_FILEPATH": str(self.duckdb_file),
                "TARGET_DUCKDB_DEFAULT_TARGET_SCHEMA": account.schema,
                "TARGET_POSTGRES_DEFAULT_TARGET_SCHEMA": account.schema,
            }
        return meltano_cli(meltano_env(self.tmp / f"meltano-{warehouse}.db", **extra))

    def load(self, account: Account) -> None:
        """One account into its own schema of each warehouse, with its own state."""
        for warehouse in WAREHOUSES:
            self.meltano(warehouse, account)(
                "run", "--state-id-suffix", account.name, "tap-litmos", f"target-{warehouse}"
            )

    def build(self, scenario: Scenario, name: str) -> None:
        """`dbt build` once over both accounts in each warehouse, and what it built."""
        readers = {
            "duckdb": read_duckdb(self.duckdb_file),
            "postgres": read_postgres(self.postgres_url),
        }
        for warehouse in WAREHOUSES:
            self.meltano(warehouse)(
                "invoke", f"dbt-{warehouse}", "build", "--vars", json.dumps(VARIABLES)
            )
            scenario.dbt_failures[warehouse, name] = failures(self.target(warehouse))
            scenario.builds[warehouse, name] = built(readers[warehouse])

    def truth(self, scenario: Scenario, name: str) -> None:
        for a in ACCOUNTS:
            scenario.loaded[a.name, name] = reference.Loaded.from_sandbox(
                self.sandboxes[a.name], START, ilt_fan_outs=a.fan_outs
            )


@pytest.fixture(scope="module")
def scenario(
    postgres: servers.Server, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Scenario]:
    tmp = tmp_path_factory.mktemp("dbt-accounts")
    with psycopg.connect(postgres.url, autocommit=True) as con:
        con.execute(sql.SQL("create database {}").format(sql.Identifier(DATABASE)))
    sandboxes = {
        a.name: LitmosSandbox(
            seed=a.seed, id_seed=ID_SEED, users=30, achievements=300, api_key=API_KEY
        )
        for a in ACCOUNTS
    }
    for sandbox in sandboxes.values():
        sandbox.start()
    try:
        pipelines = Pipelines(
            tmp,
            sandboxes,
            tmp / "warehouse.duckdb",
            postgres,
            f"postgresql://{servers.POSTGRES_USER}@{postgres.host}:{postgres.port}/{DATABASE}",
        )
        scenario = Scenario(sandboxes, {}, {}, {})
        pipelines.meltano("duckdb")(
            "install",
            "tap-litmos",
            "target-duckdb",
            "target-postgres",
            "dbt-duckdb",
            "dbt-postgres",
        )
        for account in ACCOUNTS:
            pipelines.load(account)
        pipelines.truth(scenario, "first")
        pipelines.build(scenario, "first")

        change_eu(sandboxes["eu"])
        pipelines.load(ACCOUNTS[1])
        pipelines.truth(scenario, "second")
        pipelines.build(scenario, "second")
        yield scenario
    finally:
        for sandbox in sandboxes.values():
            sandbox.stop()


# --- The accounts collide ----------------------------------------------------------------


def test_every_stream_has_its_staging_model_checked_here() -> None:
    assert set(STAGING) == set(LitmosSandbox.streams())


def test_the_two_accounts_share_ids_but_not_values(scenario: Scenario) -> None:
    us, eu = (scenario.sandboxes[a.name] for a in ACCOUNTS)
    for stream, key, value in (
        ("users", "Id", "FullName"),
        ("teams", "Id", "ParentTeamId"),
        ("achievements", "AchievementId", "UserId"),
    ):
        mine = {r[key]: r[value] for r in us.truth(stream)}
        theirs = {r[key]: r[value] for r in eu.truth(stream)}
        assert set(mine) & set(theirs), stream
        assert any(mine[k] != theirs[k] for k in set(mine) & set(theirs)), stream


# --- Every staging model and mart, per account -------------------------------------------


def expected_marts(scenario: Scenario, load: str, warehouse: str) -> dict[str, Rows]:
    """Each account's marts from its own truth, side by side (keys prefixed by account)."""
    del warehouse  # both warehouses judge at AS_OF with the default 30 expiring days
    marts: dict[str, Rows] = {m: {} for m in MARTS}
    for account in ACCOUNTS:
        computed = reference.marts(
            scenario.loaded[account.name, load], AS_OF, source_relation=account.source_relation
        )
        for mart, rows in computed.items():
            marts[mart] |= {(account.source_relation, *key): row for key, row in rows.items()}
    return marts


@pytest.mark.parametrize("load", ["first", "second"])
@pytest.mark.parametrize("warehouse", WAREHOUSES)
def test_dbt_build_passed_every_model_and_test(
    scenario: Scenario, warehouse: str, load: str
) -> None:
    assert scenario.dbt_failures[warehouse, load] == []


@pytest.mark.parametrize("load", ["first", "second"])
@pytest.mark.parametrize("warehouse", WAREHOUSES)
@pytest.mark.parametrize("model", MODELS)
def test_every_staging_model_holds_each_accounts_rows(
    scenario: Scenario, warehouse: str, load: str, model: str
) -> None:
    want: Rows = {}
    for account in ACCOUNTS:
        want |= staging_truth(account, scenario.loaded[account.name, load], model)
    got = scenario.builds[warehouse, load].staging[model]
    assert not reference.differences(got, want), "\n".join(reference.differences(got, want))
    if model not in (
        "stg_litmos__user_badges",
        "stg_litmos__course_custom_field_values",
        "stg_litmos__ilt_rollcall",
        "stg_litmos__ilt_attendance",
    ):
        assert {k[0] for k in got} == {a.source_relation for a in ACCOUNTS}, model


@pytest.mark.parametrize("load", ["first", "second"])
@pytest.mark.parametrize("warehouse", WAREHOUSES)
@pytest.mark.parametrize("mart", MARTS)
def test_every_mart_row_is_its_accounts_truth(
    scenario: Scenario, warehouse: str, load: str, mart: str
) -> None:
    want = expected_marts(scenario, load, warehouse)[mart]
    got = scenario.builds[warehouse, load].marts[mart]
    assert {k[0] for k in want} == {a.source_relation for a in ACCOUNTS}, mart
    assert not reference.differences(got, want), "\n".join(reference.differences(got, want))


@pytest.mark.parametrize("warehouse", WAREHOUSES)
def test_source_relation_is_the_first_column_everywhere(scenario: Scenario, warehouse: str) -> None:
    for model, columns in scenario.builds[warehouse, "first"].columns.items():
        assert columns[0] == "source_relation", model


@pytest.mark.parametrize("warehouse", WAREHOUSES)
def test_one_id_in_two_accounts_stays_two_rows(scenario: Scenario, warehouse: str) -> None:
    users = scenario.builds[warehouse, "first"].staging["stg_litmos__users"]
    by_id: dict[str, dict[str, str]] = {}
    for (relation, user_id), row in users.items():
        by_id.setdefault(user_id, {})[relation] = row["full_name"]
    shared = {u: names for u, names in by_id.items() if len(names) == 2}
    assert shared
    assert any(len(set(names.values())) == 2 for names in shared.values())
    achievements = scenario.builds[warehouse, "first"].staging["stg_litmos__achievements"]
    per_account = [{k[1] for k in achievements if k[0] == a.source_relation} for a in ACCOUNTS]
    assert per_account[0] & per_account[1]


@pytest.mark.parametrize("warehouse", WAREHOUSES)
def test_an_account_without_the_fan_outs_has_unknown_counts(
    scenario: Scenario, warehouse: str
) -> None:
    sessions = scenario.builds[warehouse, "first"].marts["ilt_session_attendance"]
    counts = {
        a.source_relation: {
            (r["learners_registered"], r["learners_attended"])
            for k, r in sessions.items()
            if k[0] == a.source_relation
        }
        for a in ACCOUNTS
    }
    assert counts["litmos_eu"] == {(None, None)}
    assert all(None not in pair for pair in counts["us"])
    assert any(pair != (0, 0) for pair in counts["us"])


# --- A second run of one account ---------------------------------------------------------


def only(relation: str, rows: Rows) -> Rows:
    return {k: r for k, r in rows.items() if k[0] == relation}


@pytest.mark.parametrize("warehouse", WAREHOUSES)
def test_a_second_run_of_one_account_changes_only_its_rows(
    scenario: Scenario, warehouse: str
) -> None:
    first, second = (scenario.builds[warehouse, load] for load in ("first", "second"))
    us, eu = (a.source_relation for a in ACCOUNTS)
    changed = []
    for name in (*MODELS, *MARTS):
        before = first.staging.get(name) or first.marts.get(name) or {}
        after = second.staging.get(name) or second.marts.get(name) or {}
        assert only(us, after) == only(us, before), name
        if only(eu, after) != only(eu, before):
            changed.append(name)
    # The changes reached eu's rows (the removed link, the completion, the achievements).
    assert {
        "stg_litmos__user_courses",
        "stg_litmos__removed_links",
        "stg_litmos__achievements",
        "learner_course_assignments",
        "course_completions_by_month",
    } <= set(changed)
