"""End to end through Meltano, as users run it: `meltano run tap-litmos <target>`.

Uses the repository's meltano.yml with its own system database (state) and output
folder, and the sandbox over HTTP. The first run installs the plugins into .meltano/.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import typing as t
from pathlib import Path

import duckdb
import pytest

from tap_litmos.streams import STREAM_TYPES
from tests.helpers.expect import API_KEY, canonical, expected_record
from tests.helpers.meltano import meltano_cli, meltano_env, run_meltano

if t.TYPE_CHECKING:
    from litmos_sandbox import LitmosSandbox

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def env(sandbox: LitmosSandbox, tmp_path: Path) -> dict[str, str]:
    """Meltano's environment for these tests: the sandbox, and output in `tmp_path`."""
    env = meltano_env(
        tmp_path / "meltano.db",
        TAP_LITMOS_API_URL=sandbox.base_url,
        TAP_LITMOS_API_KEY=API_KEY,
        TAP_LITMOS_MAX_REQUESTS_PER_MINUTE="0",  # the sandbox keeps no budget
        TARGET_JSONL_DESTINATION_PATH=str(tmp_path / "jsonl"),
        TARGET_DUCKDB_FILEPATH=str(tmp_path / "warehouse.duckdb"),
    )
    (tmp_path / "jsonl").mkdir()
    return env


@pytest.fixture
def meltano(env: dict[str, str]) -> t.Callable[..., str]:
    run = meltano_cli(env)

    run("install", "--plugin-type", "extractor", "tap-litmos")
    run("install", "--plugin-type", "loader", "target-jsonl", "target-duckdb")
    return run


def jsonl_records(tmp_path: Path, stream: str = "achievements") -> list[dict]:
    lines = (tmp_path / "jsonl" / f"{stream}.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]


def achievements_requests(sandbox: LitmosSandbox) -> list[dict]:
    return [r for r in sandbox.requests if r["path"].endswith("/achievements")]


def default_streams() -> dict[str, list[str]]:
    """The streams a default run extracts, with their primary keys (from the catalog)."""
    catalog = json.loads((ROOT / "catalog.json").read_text())
    streams = {}
    for entry in catalog["streams"]:
        meta = next(m["metadata"] for m in entry["metadata"] if m["breadcrumb"] == [])
        if meta.get("selected-by-default", True):
            streams[entry["tap_stream_id"]] = meta["table-key-properties"]
    return streams


def test_meltano_run_twice_is_incremental(
    meltano: t.Callable[..., str], sandbox: LitmosSandbox, tmp_path: Path
) -> None:
    truth = [expected_record(r) for r in sandbox.truth()]
    meltano("run", "tap-litmos", "target-jsonl")
    first = jsonl_records(tmp_path)
    assert sorted(r["AchievementId"] for r in first) == sorted(r["AchievementId"] for r in truth)
    assert {r["AchievementId"]: r for r in first} == {r["AchievementId"]: r for r in truth}
    assert [r["params"].get("since") for r in achievements_requests(sandbox)] == [
        "2024-01-01 00:00:00"
    ]

    bookmark = max(r["AchievementDate"] for r in truth)
    state = json.loads(meltano("state", "get", "dev:tap-litmos-to-target-jsonl"))
    assert state["singer_state"]["bookmarks"]["achievements"]["replication_key_value"] == bookmark

    newer = dt.datetime.fromisoformat(bookmark.replace("Z", "")) + dt.timedelta(days=1)
    added = sandbox.add_achievements(count=4, achievement_date=newer)
    sandbox.reset_log()
    meltano("run", "tap-litmos", "target-jsonl")
    second = jsonl_records(tmp_path)[len(first) :]
    # The second run re-reads the documented overlap (overlap_minutes, 10) before the bookmark.
    resumed = dt.datetime.fromisoformat(bookmark.replace("Z", "+00:00")) - dt.timedelta(minutes=10)
    reread = {r["AchievementId"] for r in truth if r["AchievementDate"] >= canonical(resumed)}
    assert {r["AchievementId"] for r in second} == reread | {a.achievement_id for a in added}
    assert [r["params"]["since"] for r in achievements_requests(sandbox)] == [
        resumed.strftime("%Y-%m-%d %H:%M:%S")
    ]
    state = json.loads(meltano("state", "get", "dev:tap-litmos-to-target-jsonl"))
    assert state["singer_state"]["bookmarks"]["achievements"]["replication_key_value"] == (
        newer.isoformat(timespec="milliseconds") + "Z"
    )


def test_the_default_duckdb_destination_loads_every_row_of_every_stream(
    meltano: t.Callable[..., str], sandbox: LitmosSandbox, tmp_path: Path
) -> None:
    meltano("run", "litmos-to-duckdb")
    streams = default_streams()
    assert len(streams) == sum(s.selected_by_default for s in STREAM_TYPES)
    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as con:
        for stream, keys in streams.items():
            columns = ", ".join(f'"{k.lower()}"' for k in keys)
            rows = con.execute(f"select {columns} from litmos.{stream}").fetchall()  # noqa: S608
            loaded = {tuple(map(_key_text, row)) for row in rows}
            truth = {tuple(_key_text(row[k]) for k in keys) for row in sandbox.truth(stream)}
            # Every row, including the first of each batch (duckdb >= 1.3 made
            # target-duckdb drop it), and no other.
            assert loaded == truth, stream
            assert len(rows) == len(truth), stream


def _key_text(value: object) -> str:
    if isinstance(value, dt.datetime):  # DuckDB gives naive UTC, the truth aware UTC
        value = (
            value.replace(tzinfo=None)
            if value.tzinfo is None
            else (value.astimezone(dt.timezone.utc).replace(tzinfo=None))
        )
        return value.isoformat(timespec="milliseconds")
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d\d-\d\dT[\d:.]+Z", value):
        return dt.datetime.fromisoformat(value[:-1]).isoformat(timespec="milliseconds")
    return str(value)


def test_the_doctor_runs_as_a_meltano_command(
    meltano: t.Callable[..., str], sandbox: LitmosSandbox
) -> None:
    """`meltano invoke tap-litmos:doctor`: the plugin's `commands:` entry, with the
    extractor's settings from Meltano (`--config ENV`)."""
    report = ROOT / "output" / "litmos-doctor.json"
    report.unlink(missing_ok=True)
    out = meltano("invoke", "tap-litmos:doctor")
    assert "Result: every check passed." in out
    assert json.loads(report.read_text())["passed"] is True
    assert len(sandbox.requests) <= 40


def test_meltano_run_shows_the_plan_and_the_summary(
    meltano: t.Callable[..., str], env: dict[str, str], sandbox: LitmosSandbox
) -> None:
    """The tap's lines reach a person through `meltano run` (on its stderr)."""
    result = run_meltano(env, "run", "tap-litmos", "target-jsonl")
    assert result.returncode == 0, result.stderr[-3000:]
    default_streams = [s for s in STREAM_TYPES if s.selected_by_default]
    assert f"Plan: {len(default_streams)} streams (" in result.stderr
    (summary,) = [line for line in result.stderr.splitlines() if "SUMMARY: {" in line]
    # Meltano adds its own prefix and suffix around the tap's line; the JSON is whole.
    figures = json.loads(re.search(r"SUMMARY: (\{.*\})", summary)[1])  # type: ignore[index]
    assert figures["requests"] == len(sandbox.requests)
    assert "METRIC" not in result.stderr
