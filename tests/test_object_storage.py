"""State and batch files in object storage: a real S3-compatible server (moto) on 127.0.0.1.

- Meltano's state backend on S3: a run from one project directory, then a run from a
  fresh copy of the project in another directory (another worker) with the same backend
  is incremental.
- BATCH: the tap writes its records as gzipped JSON-lines files to the bucket and sends
  BATCH messages that name them; the files hold exactly the sandbox's rows, and
  target-postgres loads the same rows from them as from RECORD messages.
- A STATE never covers rows the target has not been sent, with RECORD and with BATCH
  messages (a date-window stream's end-of-window STATE waits for the batch file).

Every server is real and local (`tests/helpers/object_store.py`, `tests/helpers/servers.py`);
plugins are installed once per module and shared by the project copies (`MeltanoPlugins`).
"""

from __future__ import annotations

import datetime as dt
import decimal
import gzip
import json
import math
import os
import subprocess
import sys
import typing as t
import uuid
from pathlib import Path

import pytest

from litmos_sandbox import LitmosSandbox
from tap_litmos.streams import STREAM_TYPES
from tests.helpers import object_store, servers
from tests.helpers.catalog import catalog_selecting
from tests.helpers.expect import API_KEY, expected_record
from tests.helpers.meltano import meltano_cli, target_postgres_env
from tests.helpers.singer import parse_text
from tests.helpers.tap import run_tap

if t.TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = pytest.mark.platform

UTC = dt.timezone.utc
TAP = str(Path(sys.executable).parent / "tap-litmos")
JSONL_STATE_ID = "dev:tap-litmos-to-target-jsonl"
GZIP_JSONL = {"format": "jsonl", "compression": "gzip"}
#: Sandbox stream families the tap reads incrementally (a bookmark on `date_field`).
INCREMENTAL_FAMILIES = ("org", "achievements")
#: A year and a bit back: a few achievements, every course result, ~55 date windows.
START_DATE = (dt.datetime.now(UTC) - dt.timedelta(days=380)).date().isoformat()


# --- Helpers ----------------------------------------------------------------------------


def as_emitted(row: dict[str, t.Any]) -> dict[str, t.Any]:
    """A sandbox truth row as it reads back from JSON (decimals become JSON numbers)."""
    return {
        k: float(v) if isinstance(v, decimal.Decimal) else v
        for k, v in expected_record(row).items()
    }


def since_text(value: str) -> str:
    """An output date-time as a Litmos query value (UTC, whole seconds floored)."""
    return value[:19].replace("T", " ")


#: What every incremental run re-reads before its bookmark (the overlap_minutes default).
OVERLAP = dt.timedelta(minutes=10)


def minus(value: str, delta: dt.timedelta) -> str:
    """An output date-time less `delta`, in the same canonical form."""
    instant = dt.datetime.fromisoformat(value.replace("Z", "+00:00")) - delta
    return instant.strftime("%Y-%m-%dT%H:%M:%S.") + f"{instant.microsecond // 1000:03d}Z"


def minus_one_second(value: str) -> str:
    return since_text(minus(value, dt.timedelta(seconds=1)))


def key_of(row: dict, keys: t.Sequence[str]) -> tuple:
    return tuple(row[k] for k in keys)


def requests_to(sandbox: LitmosSandbox, suffix: str) -> list[dict]:
    return [r for r in sandbox.requests if r["path"].lower().endswith(suffix)]


def expected_rows(
    sandbox: LitmosSandbox, stream: str, since: str, until: str | None = None
) -> dict[tuple, dict]:
    """The truth rows a run from `since` (to `until`) extracts, by primary key."""
    spec = sandbox.spec(stream)
    incremental = spec.family in INCREMENTAL_FAMILIES
    rows = {}
    for truth in sandbox.truth(stream):
        row = as_emitted(truth)
        date = row[spec.date_field] if incremental else None
        if date is not None and (date < since or (until is not None and date >= until)):
            continue
        rows[key_of(row, spec.key)] = row
    return rows


def add_recent_achievements(sandbox: LitmosSandbox, count: int) -> None:
    """Achievements after START_DATE whatever today is (the sandbox's own end in 2026-06)."""
    recent = dt.datetime.now(UTC).replace(tzinfo=None, microsecond=0) - dt.timedelta(days=30)
    for offset in range(count):
        sandbox.add_achievements(count=1, achievement_date=recent + dt.timedelta(minutes=offset))


def read_jsonl(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line]


# --- Fixtures ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def s3() -> Iterator[object_store.S3Server]:
    yield from servers.pytest_server(object_store.s3_server)


@pytest.fixture
def bucket(s3: object_store.S3Server) -> str:
    return s3.create_bucket(f"litmos-{uuid.uuid4().hex[:12]}")


@pytest.fixture(scope="module")
def plugins(tmp_path_factory: pytest.TempPathFactory) -> object_store.MeltanoPlugins:
    """tap-litmos (with s3fs), target-jsonl and target-postgres (with s3fs), installed once."""
    shared = object_store.MeltanoPlugins(tmp_path_factory.mktemp("plugins"))
    shared.install()
    return shared


def s3fs_or_skip() -> None:
    try:
        import s3fs  # noqa: F401
    except ImportError as exc:
        if os.environ.get("CI", "").lower() not in ("", "0", "false", "no"):
            pytest.fail(f"CI must run the BATCH tests, but s3fs is missing: {exc}")
        pytest.skip(f"s3fs is not installed here (the dev extra): {exc}")


# --- Meltano's state backend on S3 ------------------------------------------------------


def test_a_fresh_project_copy_on_the_same_s3_state_backend_is_incremental(  # noqa: PLR0915
    s3: object_store.S3Server,
    bucket: str,
    plugins: object_store.MeltanoPlugins,
    tmp_path: Path,
) -> None:
    prefix = "meltano/state"
    streams = ["achievements.*", "course_results.*"]
    with LitmosSandbox(seed=7, users=20, achievements=500, api_key=API_KEY) as sandbox:
        add_recent_achievements(sandbox, 20)

        def worker(name: str) -> tuple[Path, dict[str, str]]:
            project = plugins.project(tmp_path / name)
            env = object_store.project_env(
                project,
                TAP_LITMOS_API_URL=sandbox.base_url,
                TAP_LITMOS_API_KEY=API_KEY,
                TAP_LITMOS_START_DATE=START_DATE,
                TAP_LITMOS__SELECT=json.dumps(streams),
                # The request budget both workers share (docs/production.md).
                TAP_LITMOS_MAX_REQUESTS_PER_MINUTE="6000",
                TAP_LITMOS_RATE_LIMIT_BACKEND=str(tmp_path / "budget.sqlite"),
                TARGET_JSONL_DESTINATION_PATH=str(project / "output"),
                **s3.client_env(),
                **s3.meltano_state_env(bucket, prefix),
            )
            (project / "output").mkdir()
            return project, env

        # Worker A: the first run.
        project_a, env_a = worker("worker-a")
        meltano_cli(env_a, cwd=project_a)("run", "tap-litmos", "target-jsonl")
        first_achievements = read_jsonl(project_a / "output" / "achievements.jsonl")
        first_results = read_jsonl(project_a / "output" / "course_results.jsonl")
        start = START_DATE + "T00:00:00.000Z"
        truth_achievements = expected_rows(sandbox, "achievements", start)
        assert {r["AchievementId"]: r for r in first_achievements} == {
            k[0]: r for k, r in truth_achievements.items()
        }
        assert first_results, "the first run read no course results"

        # The state is an object in the bucket, not a row of A's system database.
        state_key = f"{prefix}/{JSONL_STATE_ID}/state.json"
        assert s3.keys(bucket) == [state_key]
        stored = json.loads(s3.read(bucket, state_key))
        bookmarks = stored["completed"]["singer_state"]["bookmarks"]
        achievements_bookmark = bookmarks["achievements"]["replication_key_value"]
        results_bookmark = bookmarks["course_results"]["replication_key_value"]
        assert achievements_bookmark == max(r["AchievementDate"] for r in first_achievements)
        assert results_bookmark > max(r["UpdatedDate"] for r in first_results)
        assert {key_of(r, ("UserId", "Id")) for r in first_results} == set(
            expected_rows(sandbox, "course_results", start, results_bookmark)
        )

        # Changes in Litmos between the runs.
        newer = dt.datetime.fromisoformat(achievements_bookmark[:-1]) + dt.timedelta(days=1)
        added = sandbox.add_achievements(count=4, achievement_date=newer)
        touched = sandbox.truth("course_results")[0]
        touched_key = key_of(touched, ("UserId", "Id"))
        sandbox.touch("course_results", touched_key, Completed=not touched["Completed"])
        sandbox.reset_log()

        # Worker B: a fresh copy elsewhere, its own (empty) system database, same bucket.
        project_b, env_b = worker("worker-b")
        assert not (project_b / ".meltano" / "meltano.db").exists()
        b_started = dt.datetime.now(UTC).replace(microsecond=0)  # Litmos's clock: seconds
        meltano_cli(env_b, cwd=project_b)("run", "tap-litmos", "target-jsonl")

        achievements_since = [
            r["params"].get("since") for r in requests_to(sandbox, "/achievements")
        ]
        # Worker B resumes where A stopped, less the overlap every incremental run re-reads.
        achievements_from = minus(achievements_bookmark, OVERLAP)
        assert achievements_since == [since_text(achievements_from)]
        windows = requests_to(sandbox, "/org/results/details")
        assert windows, "worker B read no course results"
        # Windows start there (each asks one second wider), never before it.
        results_from = minus(results_bookmark, OVERLAP)
        assert windows[0]["params"]["since"] == minus_one_second(results_from)
        assert min(w["params"]["since"] for w in windows) == minus_one_second(results_from)

        second_achievements = read_jsonl(project_b / "output" / "achievements.jsonl")
        boundary = {
            k[0] for k, r in truth_achievements.items() if r["AchievementDate"] >= achievements_from
        }
        assert {r["AchievementId"] for r in second_achievements} == boundary | {
            a.achievement_id for a in added
        }
        second_results = read_jsonl(project_b / "output" / "course_results.jsonl")
        touched_now = as_emitted(
            next(
                r
                for r in sandbox.truth("course_results")
                if key_of(r, ("UserId", "Id")) == touched_key
            )
        )
        reread = expected_rows(sandbox, "course_results", results_from, results_bookmark)
        assert {key_of(r, ("UserId", "Id")) for r in second_results} == {
            touched_key,
            *reread,
        }
        assert touched_now in second_results

        # The bucket holds the new state, and both workers read it.
        stored = json.loads(s3.read(bucket, state_key))
        bookmarks = stored["completed"]["singer_state"]["bookmarks"]
        assert bookmarks["achievements"]["replication_key_value"] == (
            newer.isoformat(timespec="milliseconds") + "Z"
        )
        # B's windows end at B's own start (not A's: both can fall in one second).
        b_bookmark = bookmarks["course_results"]["replication_key_value"]
        assert b_bookmark >= b_started.isoformat(timespec="milliseconds")[:-6] + "Z"
        assert b_bookmark >= results_bookmark
        for project, env in ((project_a, env_a), (project_b, env_b)):
            state = json.loads(meltano_cli(env, cwd=project)("state", "get", JSONL_STATE_ID))
            assert state["singer_state"]["bookmarks"] == bookmarks
        assert s3.keys(bucket) == [state_key]  # and no lock left behind


# --- BATCH messages from the plain tap --------------------------------------------------


def run_tap_cli(config: dict, catalog: dict, folder: Path, env: dict[str, str]) -> list[dict]:
    """`tap-litmos --config ... --catalog ...` as a process; its Singer messages."""
    (folder / "config.json").write_text(json.dumps(config))
    (folder / "catalog.json").write_text(json.dumps(catalog))
    result = subprocess.run(
        [TAP, "--config", str(folder / "config.json"), "--catalog", str(folder / "catalog.json")],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-5000:]
    assert API_KEY not in result.stdout + result.stderr
    return parse_text(result.stdout, "tap-litmos")


def test_batch_messages_name_files_in_the_bucket_that_hold_the_sandbox_truth(
    s3: object_store.S3Server, bucket: str, sandbox: LitmosSandbox, tmp_path: Path
) -> None:
    s3fs_or_skip()
    add_recent_achievements(sandbox, 250)
    batch_size = 200
    config = {
        "api_key": API_KEY,
        "api_url": sandbox.base_url,
        "max_requests_per_minute": 0,
        "start_date": START_DATE,
        "batch_config": {
            "encoding": GZIP_JSONL,
            "storage": {"root": f"s3://{bucket}/batches", "prefix": "nightly-"},
            "batch_size": batch_size,
        },
    }
    streams = ("achievements", "course_results", "users")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "FSSPEC_"))},
        **s3.client_env(),
    }
    started = dt.datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    messages = run_tap_cli(config, catalog_selecting(config, *streams), tmp_path, env)

    assert not [m for m in messages if m["type"] == "RECORD"]
    batches = [m for m in messages if m["type"] == "BATCH"]
    assert {m["stream"] for m in batches} == set(streams)
    manifests = [url for m in batches for url in m["manifest"]]
    assert all(m["encoding"] == GZIP_JSONL for m in batches)
    assert all(url.startswith(f"s3://{bucket}/batches/nightly-tap-litmos--") for url in manifests)
    assert all(url.endswith(".json.gz") for url in manifests)
    # Every file named is in the bucket, and the bucket holds nothing else.
    assert sorted(url.removeprefix(f"s3://{bucket}/") for url in manifests) == s3.keys(bucket)

    final_state = [m["value"] for m in messages if m["type"] == "STATE"][-1]
    for stream in streams:
        spec = sandbox.spec(stream)
        files = [url for m in batches if m["stream"] == stream for url in m["manifest"]]
        rows = [row for url in files for row in s3.jsonl_gz_rows(url)]
        expected = expected_rows(sandbox, stream, START_DATE + "T00:00:00.000Z", started)
        assert len(rows) == len(expected), stream
        assert {key_of(r, spec.key): r for r in rows} == expected, stream
        assert len(files) == math.ceil(len(rows) / batch_size), stream
        if spec.family in INCREMENTAL_FAMILIES:
            bookmark = final_state["bookmarks"][stream]["replication_key_value"]
            assert bookmark >= max(r[spec.date_field] for r in rows), stream


# --- STATE must never run ahead of the rows it covers ------------------------------------


def delivered_before_each_state(messages: list[dict], stream: str) -> list[tuple[str, set]]:
    """(bookmark, keys of the rows delivered so far) at each STATE, in message order.

    A row is delivered by its RECORD message, or by the BATCH message whose file holds it.
    """
    delivered: set[tuple] = set()
    seen = []
    for message in messages:
        if message["type"] == "RECORD" and message["stream"] == stream:
            delivered.add(key_of(message["record"], ("UserId", "Id")))
        elif message["type"] == "BATCH" and message["stream"] == stream:
            for url in message["manifest"]:
                path = Path(url.removeprefix("file://"))
                for line in gzip.decompress(path.read_bytes()).decode().splitlines():
                    delivered.add(key_of(json.loads(line), ("UserId", "Id")))
        elif message["type"] == "STATE":
            bookmark = message["value"]["bookmarks"].get(stream, {}).get("replication_key_value")
            if bookmark:
                seen.append((bookmark, set(delivered)))
    return seen


@pytest.mark.parametrize(
    "mode",
    [
        "record",
        "batch",
    ],
)
def test_no_state_covers_a_row_the_target_has_not_been_sent(
    sandbox: LitmosSandbox, config: dict, tmp_path: Path, mode: str
) -> None:
    if mode == "batch":
        config = {
            **config,
            "batch_config": {
                "encoding": GZIP_JSONL,
                "storage": {"root": (tmp_path / "batches").as_uri()},
            },
        }
    config = {**config, "start_date": START_DATE}
    run = run_tap(config, catalog=catalog_selecting(config, "course_results"))
    emitted = expected_rows(sandbox, "course_results", START_DATE + "T00:00:00.000Z")
    assert emitted
    checked = 0
    for bookmark, delivered in delivered_before_each_state(run.messages, "course_results"):
        covered = {k for k, r in emitted.items() if r["UpdatedDate"] < bookmark}
        assert covered <= delivered, (
            f"STATE at {bookmark} covers {len(covered - delivered)} rows not yet sent"
        )
        checked += 1
    # RECORD: a STATE after every 7-day window; BATCH: one after each batch file (here one).
    assert checked > 1 if mode == "record" else checked >= 1


# --- RECORD and BATCH into target-postgres ----------------------------------------------

#: Columns the loader adds; the two paths fill them differently (see the test).
SDC_PREFIX = "_sdc_"


@pytest.fixture(scope="module")
def postgres() -> Iterator[servers.Server]:
    factory = getattr(servers, "postgres_server", None)
    if factory is None:  # pragma: no cover - until tests/helpers/servers.py has PostgreSQL
        pytest.skip("tests/helpers/servers.py has no postgres_server() yet")
    yield from servers.pytest_server(factory)


def loaded_tables(url: str, schema: str) -> dict[str, dict[str, t.Any]]:
    """Every table of `schema`: its business rows (no `_sdc_` column) as a sorted list of
    tuples, and for each `_sdc_` column how many rows have it set."""
    import psycopg

    tables: dict[str, dict[str, t.Any]] = {}
    with psycopg.connect(url) as con:
        names = [
            name
            for (name,) in con.execute(
                "select table_name from information_schema.tables where table_schema = %s",
                (schema,),
            )
        ]
        for name in names:
            columns = [
                column
                for (column,) in con.execute(
                    "select column_name from information_schema.columns"
                    " where table_schema = %s and table_name = %s order by column_name",
                    (schema, name),
                )
            ]
            business = [c for c in columns if not c.startswith(SDC_PREFIX)]
            select = ", ".join(f'"{c}"::text' for c in business)
            rows = con.execute(f'select {select} from {schema}."{name}"').fetchall()  # noqa: S608
            metadata = {
                c: con.execute(
                    f'select count("{c}") from {schema}."{name}"'  # noqa: S608
                ).fetchone()[0]
                for c in columns
                if c.startswith(SDC_PREFIX)
            }
            tables[name] = {
                "columns": business,
                "rows": sorted(rows, key=repr),
                "count": len(rows),
                "metadata_set": metadata,
            }
    return tables


def test_target_postgres_loads_the_same_rows_from_batch_files_as_from_records(
    s3: object_store.S3Server,
    bucket: str,
    plugins: object_store.MeltanoPlugins,
    postgres: servers.Server,
    tmp_path: Path,
) -> None:
    s3fs_or_skip()
    psycopg = pytest.importorskip("psycopg")
    schema = "litmos"
    with psycopg.connect(postgres.url, autocommit=True) as con:
        for database in ("by_record", "by_batch"):
            con.execute(f"create database {database}")
    base_url = postgres.url.rsplit("/", 1)[0]

    with LitmosSandbox(seed=7, users=12, achievements=300, api_key=API_KEY) as sandbox:
        add_recent_achievements(sandbox, 150)

        def worker(mode: str) -> tuple[Path, dict[str, str]]:
            project = plugins.project(tmp_path / mode)
            extra = {}
            if mode == "by_batch":
                extra["TAP_LITMOS_BATCH_CONFIG"] = json.dumps(
                    {
                        "encoding": GZIP_JSONL,
                        "storage": {"root": f"s3://{bucket}/batches", "prefix": "worker-"},
                        "batch_size": 100,
                    }
                )
            env = object_store.project_env(
                project,
                TAP_LITMOS_API_URL=sandbox.base_url,
                TAP_LITMOS_API_KEY=API_KEY,
                TAP_LITMOS_START_DATE=START_DATE,
                TAP_LITMOS_MAX_REQUESTS_PER_MINUTE="0",
                **target_postgres_env(postgres, mode),
                **s3.client_env(),
                **s3.meltano_state_env(bucket, f"state/{mode}"),
                **extra,
            )
            return project, env

        workers = {mode: worker(mode) for mode in ("by_record", "by_batch")}

        def run_both() -> dict[str, dict]:
            loaded = {}
            for mode, (project, env) in workers.items():
                meltano_cli(env, cwd=project)("run", "tap-litmos", "target-postgres")
                loaded[mode] = loaded_tables(f"{base_url}/{mode}", schema)
            return loaded

        first = run_both()
        # Changes in Litmos between the runs: a deletion (ACTIVATE_VERSION), an update in
        # place (upsert), new rows (incremental).
        instructors = sorted(r["Id"] for r in sandbox.truth("instructors"))
        sandbox.delete_user(instructors[0])
        result = sandbox.truth("course_results")[0]
        sandbox.touch(
            "course_results", (result["UserId"], result["Id"]), Completed=not result["Completed"]
        )
        newest = max(r["AchievementDate"] for r in sandbox.truth("achievements"))
        sandbox.add_achievements(
            count=3, achievement_date=newest.replace(tzinfo=None) + dt.timedelta(days=1)
        )
        second = run_both()

    batch_files = s3.keys(bucket, "batches/")
    assert batch_files, "the BATCH run wrote no files"
    for loaded in (first, second):
        record, batch = loaded["by_record"], loaded["by_batch"]
        assert set(batch) == set(record)
        assert len(record) == sum(s.selected_by_default for s in STREAM_TYPES)
        for table in record:
            assert batch[table]["columns"] == record[table]["columns"], table
            assert batch[table]["count"] == record[table]["count"], table
            assert batch[table]["rows"] == record[table]["rows"], table
    # What differs is the loader's own metadata: the SDK's BATCH path loads the files'
    # records as they are, so every `_sdc_` column stays null (no _sdc_extracted_at,
    # _sdc_table_version ...); RECORD messages fill them. ACTIVATE_VERSION still deletes
    # (hard_delete deletes null versions too): the deleted user is gone in both.
    for table in second["by_record"]:
        record_meta = second["by_record"][table]["metadata_set"]
        batch_meta = second["by_batch"][table]["metadata_set"]
        assert set(batch_meta) == set(record_meta), table
        assert set(batch_meta.values()) <= {0}, table
        assert record_meta["_sdc_extracted_at"] == second["by_record"][table]["count"], table
    assert (
        second["by_record"]["achievements"]["count"]
        == first["by_record"]["achievements"]["count"] + 3
    )
    assert second["by_record"]["users"]["count"] == first["by_record"]["users"]["count"] - 1


def test_a_batch_file_that_cannot_be_written_does_not_move_the_bookmark(
    config: dict, tmp_path: Path
) -> None:
    # Storage that fails at the first write (a folder under a regular file), like an
    # unreachable bucket or a refused PutObject. Through Meltano and target-postgres the
    # same run ends with the bookmark at the run's start, 0 rows loaded, and the next run
    # skips every row this one read.
    (tmp_path / "blocker").write_text("a file, not a folder")
    root = (tmp_path / "blocker" / "batches").as_uri()
    config = {
        **config,
        "start_date": START_DATE,
        "batch_config": {"encoding": GZIP_JSONL, "storage": {"root": root}},
    }
    run = run_tap(config, catalog=catalog_selecting(config, "course_results"), allow_failure=True)
    assert isinstance(run.error, OSError)
    assert not [m for m in run.messages if m["type"] in ("RECORD", "BATCH")]
    bookmarks = [
        s["bookmarks"].get("course_results", {}).get("replication_key_value") for s in run.states
    ]
    assert set(bookmarks) <= {None}, f"the bookmark moved to {max(filter(None, bookmarks))}"
