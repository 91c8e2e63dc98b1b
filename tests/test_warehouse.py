"""A real warehouse: `meltano run tap-litmos target-postgres` into a real PostgreSQL.

The PostgreSQL server is started here, on a free port of 127.0.0.1 in a temporary
directory (`tests/helpers/servers.py`), and stopped at the end; its default TimeZone is US
Pacific on purpose, so a date-time that relied on the server's zone would land at the
wrong instant. The loader is the one meltano.yml declares: MeltanoLabs target-postgres
with date-times as `timestamp with time zone` (loaders/target-postgres-timestamptz),
configured only through the environment, as a deployment would configure it.

Every stream is selected (the three fan-outs too, `TAP_LITMOS__SELECT`). Two
runs, with changes in the sandbox between them (a user deleted, a link removed in every
link stream, a course result touched, achievements added), then the tables are compared
with the sandbox's ground truth: one row per primary key (the boundary re-reads of the
second run are absorbed by the key), every value, the column types, and the rows that
ACTIVATE_VERSION must delete. The runs happen once for the module; each test reads.

Two more tests use databases of their own: a table loaded by the upstream target first
(zone-less date-times), migrated by this loader to the same instants; and a run that dies
half-way through a snapshot, which leaves its table whole.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import json
import subprocess
import sys
import typing as t
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from litmos_sandbox import LitmosSandbox
from scripts.regenerate import incremental_streams, link_streams
from tap_litmos.streams import STREAM_TYPES
from tests.helpers import servers
from tests.helpers.catalog import catalog_selecting
from tests.helpers.expect import API_KEY
from tests.helpers.meltano import ROOT, meltano_cli, meltano_env, run_meltano, target_postgres_env

if t.TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = pytest.mark.platform

UTC = dt.timezone.utc


#: Not UTC, so that nothing can lean on the server's zone by accident.
SERVER_TIMEZONE = "America/Los_Angeles"
DATABASE = "warehouse"
SCHEMA = "litmos"  # meltano.yml: default_target_schema
#: The sandbox's account changes within the year before today: two years back covers it
#: (and leaves the oldest achievements out, so the start date is seen to work).
START_DATE = (dt.datetime.now(UTC) - dt.timedelta(days=730)).date()

DATE_KINDS = frozenset({"wcf", "isoz", "org"})
#: information_schema.columns.data_type for each sandbox field kind.
SQL_TYPES = {
    "str": {"text", "character varying"},
    "int": {"bigint", "integer", "smallint"},
    "dec": {"numeric"},
    "bool": {"boolean"},
    "strs": {"ARRAY"},  # text[] (course_custom_fields.Dropdown)
}
DATE_TIME_TYPE = "timestamp with time zone"
#: The `/org/*` link streams: a removal arrives as `Active = false` on the same key.
LINK_STREAMS = tuple(link_streams())
#: Snapshot streams whose rows name a user: a user deleted in Litmos leaves them all.
USER_ROW_STREAMS = {"users": "Id", "instructors": "Id", "user_badges": "UserId"}


@dataclasses.dataclass
class Warehouse:
    """What the two runs did, and where their tables are."""

    url: str
    sandbox: LitmosSandbox
    first_run_started: dt.datetime
    second_run_started: dt.datetime
    deleted_user: str
    after_first_run: dict[str, set[tuple]]  # stream -> primary keys in its table
    removed_links: dict[str, tuple]  # stream -> key turned Active = false
    touched_result: tuple
    boundary_achievements: set[int]  # newest before the second run: read by both runs
    added_achievements: set[int]
    state: dict

    def connect(self) -> psycopg.Connection:
        return psycopg.connect(self.url)


def key_of(stream: str, row: dict, sandbox: LitmosSandbox) -> tuple:
    """The primary key of a truth row or a loaded row (login_activity's holds a date-time:
    aware in both, so equal instants are equal keys)."""
    return tuple(row[k] for k in sandbox.spec(stream).key)


def expected_rows(warehouse: Warehouse, stream: str) -> dict[tuple, dict]:
    """The truth of `stream` now, as far as the runs could read it, by primary key.

    Snapshot streams: every row. Date-window streams and achievements: the rows whose
    replication date lies in [start_date, start of the second run).
    """
    sandbox = warehouse.sandbox
    spec = sandbox.spec(stream)
    start = dt.datetime.combine(START_DATE, dt.time(), UTC)
    rows = sandbox.truth(stream)
    if spec.family in ("org", "achievements"):
        field = spec.date_field
        assert field, stream
        rows = [r for r in rows if start <= r[field] < warehouse.second_run_started]
    return {key_of(stream, row, sandbox): row for row in rows}


def table(stream: str) -> sql.Identifier:
    return sql.Identifier(SCHEMA, stream)


def query(con: psycopg.Connection, text: str, *args: t.Any, **parts: sql.Composable) -> list:
    """Rows of `text`, whose {names} are SQL identifiers or fragments given as `parts`."""
    return con.execute(sql.SQL(text).format(**parts), args).fetchall()  # type: ignore[arg-type]


def table_rows(con: psycopg.Connection, stream: str) -> list[dict]:
    with con.cursor(row_factory=psycopg.rows.dict_row) as cur:
        return cur.execute(sql.SQL("select * from {}").format(table(stream))).fetchall()


def column_types(con: psycopg.Connection, stream: str) -> dict[str, str]:
    rows = query(
        con,
        "select column_name, data_type from information_schema.columns"
        " where table_schema = %s and table_name = %s",
        SCHEMA,
        stream,
    )
    return dict(rows)


# --- The runs --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def postgres() -> Iterator[servers.Server]:
    yield from servers.pytest_server(lambda: servers.postgres_server(timezone=SERVER_TIMEZONE))


@pytest.fixture(scope="module")
def loader_bin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tap and the loader installed by Meltano; the loader venv's bin directory."""
    meltano = meltano_cli(meltano_env(tmp_path_factory.mktemp("install") / "meltano.db"))
    meltano("install", "--plugin-type", "extractor", "tap-litmos")
    meltano("install", "--plugin-type", "loader", "target-postgres")
    return ROOT / ".meltano" / "loaders" / "target-postgres" / "venv" / "bin"


def create_database(server: servers.Server, name: str) -> str:
    """A new database on `server`; its URL."""
    with psycopg.connect(server.url, autocommit=True) as con:
        con.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    return f"postgresql://{servers.POSTGRES_USER}@{server.host}:{server.port}/{name}"


@pytest.fixture(scope="module")
def warehouse(
    postgres: servers.Server, loader_bin: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Warehouse]:
    tmp_path = tmp_path_factory.mktemp("warehouse")
    url = create_database(postgres, DATABASE)

    with LitmosSandbox(seed=7, users=12, achievements=60, api_key=API_KEY) as sandbox:
        env = meltano_env(
            tmp_path / "meltano.db",
            TAP_LITMOS_API_URL=sandbox.base_url,
            TAP_LITMOS_API_KEY=API_KEY,
            TAP_LITMOS_START_DATE=START_DATE.isoformat(),
            TAP_LITMOS_MAX_REQUESTS_PER_MINUTE="0",
            # Every stream, the fan-outs (user_badges, ilt_rollcall, ilt_attendance) too.
            TAP_LITMOS__SELECT=json.dumps(["*.*"]),
            **target_postgres_env(postgres, DATABASE),
        )
        meltano = meltano_cli(env)

        first_run_started = dt.datetime.now(UTC)
        meltano("run", "tap-litmos", "target-postgres")
        with psycopg.connect(url) as con:
            after_first_run = {
                stream: {key_of(stream, row, sandbox) for row in table_rows(con, stream)}
                for stream in sandbox.streams()
            }

        # Changes in Litmos between the runs.
        instructors = {r["Id"] for r in sandbox.truth("instructors")}
        badges = {r["UserId"] for r in sandbox.truth("user_badges")}
        deleted_user = min(instructors & badges or instructors)
        sandbox.delete_user(deleted_user)
        removed_links = {}
        for stream in LINK_STREAMS:
            active = next(r for r in sandbox.truth(stream) if r["Active"])
            key = key_of(stream, active, sandbox)
            sandbox.remove_link(stream, key)
            removed_links[stream] = key
        result = sandbox.truth("course_results")[0]
        touched_result = key_of("course_results", result, sandbox)
        sandbox.touch("course_results", touched_result, Completed=not result["Completed"])
        newest = max(r["AchievementDate"] for r in sandbox.truth("achievements"))
        boundary = {
            r["AchievementId"]
            for r in sandbox.truth("achievements")
            if r["AchievementDate"] == newest
        }
        added = sandbox.add_achievements(
            count=3, achievement_date=newest.replace(tzinfo=None) + dt.timedelta(days=1)
        )

        second_run_started = dt.datetime.now(UTC)
        meltano("run", "tap-litmos", "target-postgres")
        state = json.loads(meltano("state", "get", "dev:tap-litmos-to-target-postgres"))

        yield Warehouse(
            url=url,
            sandbox=sandbox,
            first_run_started=first_run_started,
            second_run_started=second_run_started,
            deleted_user=deleted_user,
            after_first_run=after_first_run,
            removed_links=removed_links,
            touched_result=touched_result,
            boundary_achievements=boundary,
            added_achievements={a.achievement_id for a in added},
            state=state,
        )


@pytest.fixture
def con(warehouse: Warehouse) -> Iterator[psycopg.Connection]:
    with warehouse.connect() as connection:
        yield connection


# --- The checks ------------------------------------------------------------------------


def test_every_stream_is_a_table(con: psycopg.Connection) -> None:
    tables = query(
        con, "select table_name from information_schema.tables where table_schema = %s", SCHEMA
    )
    streams = {stream.name for stream in STREAM_TYPES}
    assert len(streams) == len(STREAM_TYPES)
    assert streams == set(LitmosSandbox.streams())
    assert {name for (name,) in tables} == streams


@pytest.mark.parametrize("stream", LitmosSandbox.streams())
def test_one_row_per_primary_key_of_the_truth(
    warehouse: Warehouse, con: psycopg.Connection, stream: str
) -> None:
    expected = expected_rows(warehouse, stream)
    assert expected, f"{stream}: the sandbox has nothing to compare with"
    [(count,)] = query(con, "select count(*) from {table}", table=table(stream))
    loaded = {key_of(stream, row, warehouse.sandbox) for row in table_rows(con, stream)}
    assert count == len(expected)
    assert loaded == set(expected)


@pytest.mark.parametrize("stream", LitmosSandbox.streams())
def test_every_value_is_the_truth(
    warehouse: Warehouse, con: psycopg.Connection, stream: str
) -> None:
    # Date-times compare as instants (aware on both sides), decimals as Decimals.
    expected = expected_rows(warehouse, stream)
    for row in table_rows(con, stream):
        key = key_of(stream, row, warehouse.sandbox)
        truth = expected[key]
        assert {name: row[name] for name in truth} == truth, f"{stream} {key}"


@pytest.mark.parametrize("stream", LitmosSandbox.streams())
def test_column_types(warehouse: Warehouse, con: psycopg.Connection, stream: str) -> None:
    spec = warehouse.sandbox.spec(stream)
    types = column_types(con, stream)
    for field in spec.fields + spec.parents:
        if field.kind == "list":
            continue  # ilt_sessions.Days: its own stream, ilt_session_days
        want = {DATE_TIME_TYPE} if field.kind in DATE_KINDS else SQL_TYPES[field.kind]
        assert types.get(field.name) in want, f"{stream}.{field.name} ({field.kind})"


def test_date_times_are_the_right_instants_whatever_the_server_zone(
    warehouse: Warehouse, con: psycopg.Connection
) -> None:
    # The server's default zone is US Pacific and nothing sets a session's zone (no PGTZ),
    # neither the loader's nor this one: a value that leaned on a zone would be hours off.
    assert query(con, "show timezone") == [(SERVER_TIMEZONE,)]
    checked = 0
    for stream in warehouse.sandbox.streams():
        spec = warehouse.sandbox.spec(stream)
        expected = expected_rows(warehouse, stream)
        for field in (f for f in spec.fields if f.kind in DATE_KINDS):
            keys = sorted(k for k, r in expected.items() if r[field.name] is not None)[:3]
            for key in keys:
                where = sql.SQL(" and ").join(
                    sql.SQL("{} = %s").format(sql.Identifier(k)) for k in spec.key
                )
                [(value,)] = query(
                    con,
                    "select {column} from {table} where {where}",
                    *key,
                    column=sql.Identifier(field.name),
                    table=table(stream),
                    where=where,
                )
                assert value == expected[key][field.name], f"{stream}.{field.name} {key}"
                checked += 1
    assert checked > 100


def test_every_date_time_column_is_timestamp_with_time_zone(
    warehouse: Warehouse, con: psycopg.Connection
) -> None:
    # The tap's own date-times and the target's _sdc_* ones alike, in every table.
    checked = 0
    for stream in warehouse.sandbox.streams():
        spec = warehouse.sandbox.spec(stream)
        types = column_types(con, stream)
        wanted = {f.name for f in spec.fields + spec.parents if f.kind in DATE_KINDS}
        wanted |= {"_sdc_extracted_at", "_sdc_received_at", "_sdc_batched_at", "_sdc_deleted_at"}
        for name in wanted:
            assert types[name] == "timestamp with time zone", f"{stream}.{name}"
            checked += 1
    assert checked > 100


@pytest.mark.parametrize("stream", LINK_STREAMS)
def test_removed_links_are_rows_with_active_false(
    warehouse: Warehouse, con: psycopg.Connection, stream: str
) -> None:
    expected = expected_rows(warehouse, stream)
    inactive = {k for k, r in expected.items() if r["Active"] is False}
    key = warehouse.removed_links[stream]
    loaded = {
        key_of(stream, row, warehouse.sandbox)
        for row in table_rows(con, stream)
        if row["Active"] is False
    }
    assert key in warehouse.after_first_run[stream]  # it was loaded active, then changed
    assert key in inactive
    assert loaded == inactive


def test_a_touched_row_is_updated_in_place(warehouse: Warehouse, con: psycopg.Connection) -> None:
    truth = expected_rows(warehouse, "course_results")[warehouse.touched_result]
    user_id, course_id = warehouse.touched_result
    rows = query(
        con,
        """select "Completed", "UpdatedDate" from {table}"""
        """ where "UserId" = %s and "Id" = %s""",
        user_id,
        course_id,
        table=table("course_results"),
    )
    assert rows == [(truth["Completed"], truth["UpdatedDate"])]
    assert truth["UpdatedDate"] >= warehouse.first_run_started


def test_added_achievements_arrive_in_the_second_run(
    warehouse: Warehouse, con: psycopg.Connection
) -> None:
    rows = query(
        con,
        """select "AchievementId" from {table} where "AchievementId" = any(%s)""",
        sorted(warehouse.added_achievements),
        table=table("achievements"),
    )
    loaded = {aid for (aid,) in rows}
    assert loaded == warehouse.added_achievements
    bookmarks = warehouse.state["singer_state"]["bookmarks"]
    assert set(bookmarks) >= set(incremental_streams())


def test_the_boundary_re_read_is_absorbed_by_the_key(
    warehouse: Warehouse, con: psycopg.Connection
) -> None:
    # The second run reads the bookmark's own instant again (at least once): the row is
    # written again by that run, and is still one row.
    rows = query(
        con,
        """select "AchievementId", "_sdc_extracted_at" from {table}"""
        """ where "AchievementId" = any(%s)""",
        sorted(warehouse.boundary_achievements),
        table=table("achievements"),
    )
    assert sorted(aid for aid, _ in rows) == sorted(warehouse.boundary_achievements)
    assert all(at >= warehouse.second_run_started for _, at in rows)


def test_activate_version_deletes_a_user_deleted_in_litmos(
    warehouse: Warehouse, con: psycopg.Connection
) -> None:
    # hard_delete: true (meltano.yml): the row is gone, not marked.
    user = warehouse.deleted_user
    for stream, column in USER_ROW_STREAMS.items():
        before = {k for k in warehouse.after_first_run[stream] if user in k}
        assert before, f"{stream}: the deleted user had no row after the first run"
        [(left,)] = query(
            con,
            "select count(*) from {table} where {column} = %s",
            user,
            table=table(stream),
            column=sql.Identifier(column),
        )
        assert left == 0, stream


def test_snapshot_tables_hold_only_the_last_version(
    warehouse: Warehouse, con: psycopg.Connection
) -> None:
    for stream in warehouse.sandbox.streams():
        if warehouse.sandbox.spec(stream).family in ("org", "achievements"):
            continue
        versions = query(
            con,
            'select distinct "_sdc_table_version", "_sdc_deleted_at" from {table}',
            table=table(stream),
        )
        assert len(versions) == 1, stream
        version, deleted_at = versions[0]
        assert deleted_at is None
        assert version >= int(warehouse.second_run_started.timestamp()) - 1, stream


def test_decimals_are_exact(warehouse: Warehouse, con: psycopg.Connection) -> None:
    prices = dict(query(con, 'select "Id", "Price" from {table}', table=table("courses")))
    truth = {r["Id"]: r["Price"] for r in warehouse.sandbox.truth("courses")}
    assert prices == truth
    assert all(isinstance(p, decimal.Decimal) for p in prices.values() if p is not None)


# --- A table loaded before: zone-less date-times migrated --------------------------------


def singer_pipe(tap: list[str], target: list[str], env: dict[str, str]) -> str:
    """`tap | target` as plain Singer processes; the target's stdout (its STATE lines)."""
    with subprocess.Popen(tap, stdout=subprocess.PIPE, env=env) as tap_process:
        loaded = subprocess.run(
            target, stdin=tap_process.stdout, capture_output=True, text=True, env=env, check=False
        )
    assert tap_process.returncode == 0
    assert loaded.returncode == 0, loaded.stderr[-3000:]
    return loaded.stdout


def test_a_zone_less_table_is_migrated_to_the_same_instants(
    postgres: servers.Server, loader_bin: Path, tmp_path: Path
) -> None:
    # A team that loaded with the upstream target (the same venv's `target-postgres`),
    # sessions in UTC as this project's loader entry used to pin, then switches loaders:
    # its state carries on, so the second run rewrites only the boundary rows and the
    # others keep the values the migration gave them.
    url = create_database(postgres, "migrated")
    start = dt.datetime(2020, 1, 1, tzinfo=UTC)
    with LitmosSandbox(seed=11, users=5, achievements=80, api_key=API_KEY) as sandbox:
        tap_config = {
            "api_key": API_KEY,
            "api_url": sandbox.base_url,
            "start_date": start.isoformat(),
            "max_requests_per_minute": 0,
        }
        files = {
            "tap.json": tap_config,
            "catalog.json": catalog_selecting(tap_config, "achievements"),
            "target.json": {
                "host": postgres.host,
                "port": postgres.port,
                "user": servers.POSTGRES_USER,
                "password": "",
                "database": "migrated",
                "default_target_schema": SCHEMA,
                "add_record_metadata": True,
            },
        }
        for name, content in files.items():
            (tmp_path / name).write_text(json.dumps(content))
        tap = [
            str(Path(sys.executable).parent / "tap-litmos"),
            *("--config", str(tmp_path / "tap.json")),
            *("--catalog", str(tmp_path / "catalog.json")),
        ]
        target = ["--config", str(tmp_path / "target.json")]
        env = meltano_env(tmp_path / "meltano.db")

        upstream = [str(loader_bin / "target-postgres"), *target]
        out = singer_pipe(tap, upstream, env | {"PGTZ": "UTC"})
        (tmp_path / "state.json").write_text(out.strip().splitlines()[-1])
        with psycopg.connect(url) as con:
            assert column_types(con, "achievements")["AchievementDate"] == (
                "timestamp without time zone"
            )

        newest = max(r["AchievementDate"] for r in sandbox.truth("achievements"))
        sandbox.add_achievements(count=2, achievement_date=newest.replace(tzinfo=None))
        second_run_started = dt.datetime.now(UTC)
        singer_pipe(
            [*tap, "--state", str(tmp_path / "state.json")],
            [str(loader_bin / "target-postgres-timestamptz"), *target],
            env,  # no PGTZ: sessions in the server's US Pacific
        )
        truth = {r["AchievementId"]: r for r in sandbox.truth("achievements")}

    with psycopg.connect(url) as con:
        types = column_types(con, "achievements")
        rows = {r["AchievementId"]: r for r in table_rows(con, "achievements")}
    assert types["AchievementDate"] == "timestamp with time zone"
    assert types["_sdc_extracted_at"] == "timestamp with time zone"
    assert set(rows) == set(truth)
    for aid, row in rows.items():
        assert row["AchievementDate"] == truth[aid]["AchievementDate"], aid
    kept = [r for r in rows.values() if r["_sdc_extracted_at"] < second_run_started]
    assert len(kept) > len(rows) // 2  # the migrated values, not rewritten by the second run


# --- A run that dies half-way -----------------------------------------------------------


def test_a_run_that_dies_leaves_a_snapshot_table_whole(
    postgres: servers.Server, loader_bin: Path, tmp_path: Path
) -> None:
    # hard_delete deletes the rows of older versions when ACTIVATE_VERSION arrives: it
    # must come after the last record, and not at all from a run that dies.
    url = create_database(postgres, "failed_run")
    with LitmosSandbox(seed=5, users=12, achievements=10, api_key=API_KEY) as sandbox:
        env = meltano_env(
            tmp_path / "meltano.db",
            TAP_LITMOS_API_URL=sandbox.base_url,
            TAP_LITMOS_API_KEY=API_KEY,
            TAP_LITMOS_MAX_REQUESTS_PER_MINUTE="0",
            TAP_LITMOS_PAGE_SIZE="5",
            TAP_LITMOS__SELECT=json.dumps(["users.*"]),
            **target_postgres_env(postgres, "failed_run"),
        )
        run = ["run", "tap-litmos", "target-postgres"]

        def users_loaded() -> set[str]:
            with psycopg.connect(url) as con:
                return {row["Id"] for row in table_rows(con, "users")}

        meltano_cli(env)(*run)
        everyone = {r["Id"] for r in sandbox.truth("users")}
        assert users_loaded() == everyone

        gone = min(everyone)
        sandbox.delete_user(gone)
        sandbox.inject("401", after=1)  # the second page of users (the first request: page 1)
        failed = run_meltano(env, *run)
        assert failed.returncode != 0
        assert "401" in failed.stderr or "api_key" in failed.stderr
        assert users_loaded() == everyone  # all of them: the deleted one is still there too

        meltano_cli(env)(*run)
        assert users_loaded() == everyone - {gone}
