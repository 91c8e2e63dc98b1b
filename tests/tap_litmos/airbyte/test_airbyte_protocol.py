"""`source-litmos` speaks the Airbyte protocol: a real process against the sandbox.

Each test runs the console script as Airbyte and PyAirbyte run it (config, catalog and
state files in, one message a line out), parses every line (`check_message`) and
compares with the sandbox's ground truth and request log, and with `tap-litmos` itself
where both must agree (the `--test` messages, the requests of a full read). PyAirbyte
runs the same source in tests/test_pyairbyte.py.
"""

from __future__ import annotations

import collections
import datetime as dt
import json
import re
import signal
import subprocess
import sys
import time
import typing as t
from pathlib import Path

import jsonschema
import pytest

from tap_litmos import settings
from tap_litmos.streams import STREAM_TYPES
from tests.helpers.airbyte_source import (
    configured_catalog,
    discover,
    run_source,
    state_as_sent,
)
from tests.helpers.catalog import requests_to
from tests.helpers.expect import API_KEY, comparable, key_of, parse_utc, since_text
from tests.helpers.tap import run_tap

if t.TYPE_CHECKING:
    from litmos_sandbox import LitmosSandbox
    from tests.helpers.airbyte_source import SourceRun

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[3]
#: The tap's own discover output, committed: the reference for the Airbyte catalog.
TAP_CATALOG = json.loads((ROOT / "catalog.json").read_text())
#: The streams discovery offers only when `fan_out_streams` names them, in catalog order.
FAN_OUTS = [s.name for s in STREAM_TYPES if not s.selected_by_default]
SDK_ONLY = [
    "stream_maps",
    "stream_map_config",
    "faker_config",
    "flattening_enabled",
    "flattening_max_depth",
    "batch_config",
]
#: The stream whose request log names it: ilt_session_days rides in ilt_sessions' pages.
OWN_REQUESTS = "ilt_session_days"
#: The sandbox's /org/* changes fall in the year before its anchor, an assignment's
#: CreatedDate up to 90 days before that (as in test_catalog_contract).
DAYS_BEFORE_ANCHOR = 470
#: What every incremental run re-reads before its bookmark (the overlap_minutes default).
OVERLAP = dt.timedelta(minutes=10)


def tap_streams() -> dict[str, dict]:
    """Stream-level metadata of every stream in the tap's catalog, with its schema."""
    out = {}
    for entry in TAP_CATALOG["streams"]:
        meta = next(m["metadata"] for m in entry["metadata"] if m["breadcrumb"] == [])
        out[entry["tap_stream_id"]] = {**meta, "schema": entry["schema"]}
    return out


DEFAULT_STREAMS = [n for n, m in tap_streams().items() if m.get("selected-by-default", True)]


@pytest.fixture
def dated(sandbox: LitmosSandbox, config: dict) -> dict:
    """`config` with a start_date before every row of the sandbox, and after most of its
    empty weeks: a third of the date windows a run from the account's start walks."""
    start = sandbox.world.anchor - dt.timedelta(days=DAYS_BEFORE_ANCHOR)
    return {**config, "start_date": start.date().isoformat()}


def expected_rows(
    sandbox: LitmosSandbox, stream: str, config: dict | None = None
) -> dict[tuple, dict]:
    """The truth of `stream` by primary key, as the source emits it.

    With a `start_date` in `config`, achievements from then on (the date-window streams
    hold nothing older than the `dated` start).
    """
    spec = sandbox.spec(stream)
    rows = sandbox.truth(stream)
    start = (config or {}).get("start_date")
    if start and stream == "achievements":
        rows = [r for r in rows if r[spec.date_field] >= parse_utc(start + "T00:00:00Z")]
    return {key_of(row, spec.key): row for row in map(comparable, rows)}


def records_by_key(runs: list[SourceRun], sandbox: LitmosSandbox, stream: str) -> dict:
    """Every record of `stream` in `runs` by key, the later copy winning (as a merge does)."""
    keys = sandbox.spec(stream).key
    return {key_of(r, keys): r for run in runs for r in run.records(stream)}


def assert_clean(run: SourceRun) -> None:
    """Nothing on stderr, and the key in no byte."""
    assert run.stderr == ""
    assert API_KEY.encode() not in run.stdout


def read(
    tmp_path: Path,
    config: dict,
    streams: list[str] | None = None,
    state: object = None,
    *,
    label: str = "read",
    sync_mode: str | dict[str, str] = "incremental",
    **kwargs: t.Any,
) -> SourceRun:
    catalog = configured_catalog(discover(tmp_path, config), streams, sync_mode=sync_mode)
    return run_source(
        "read", tmp_path, config=config, catalog=catalog, state=state, label=label, **kwargs
    )


# --- spec ----------------------------------------------------------------------------------


def test_spec_is_the_tap_settings_schema_in_airbyte_spelling(tmp_path: Path) -> None:
    run = run_source("spec", tmp_path)
    assert run.returncode == 0
    assert_clean(run)
    assert [m["type"] for m in run.messages] == ["SPEC"]
    spec = run.messages[0]["spec"]
    assert spec["documentationUrl"].startswith("https://")
    schema = spec["connectionSpecification"]
    ours = settings.CONFIG_SCHEMA["properties"]
    assert list(schema["properties"]) == [*ours, "fan_out_streams"]
    assert not set(SDK_ONLY) & set(schema["properties"])
    assert schema["required"] == ["api_key"]
    secret = {name for name, prop in schema["properties"].items() if prop.get("airbyte_secret")}
    assert secret == {"api_key", "rate_limit_backend"}
    for name, prop in ours.items():
        got = schema["properties"][name]
        for word in ("title", "description", "default", "enum", "minimum", "maximum",
                     "exclusiveMinimum", "maxLength", "format"):  # fmt: skip
            assert got.get(word) == prop.get(word), (name, word)
        assert [got["type"]] == [k for k in prop["type"] if k != "null"], name
    fan_outs = schema["properties"]["fan_out_streams"]
    assert fan_outs["items"]["enum"] == FAN_OUTS
    assert fan_outs["default"] == []

    validator = jsonschema.Draft7Validator(schema)
    good = {
        "api_key": "k" * 8,
        "page_size": 500,
        "region": "eu",
        "fan_out_streams": ["user_badges"],
    }
    assert list(validator.iter_errors(good)) == []
    for bad in ({"page_size": 5000}, {"region": "mars"}, {"fan_out_streams": ["users"]}, {}):
        config = {"api_key": "k" * 8, **bad} if bad else {}
        assert list(validator.iter_errors(config)), bad


# --- check ---------------------------------------------------------------------------------


def test_check_succeeds_with_one_request_and_writes_no_data(
    tmp_path: Path, sandbox: LitmosSandbox, config: dict
) -> None:
    run = run_source("check", tmp_path, config=config)
    assert run.returncode == 0
    assert_clean(run)
    (status,) = run.of_type("CONNECTION_STATUS")
    assert status["connectionStatus"] == {"status": "SUCCEEDED"}
    assert {m["type"] for m in run.messages} <= {"LOG", "CONNECTION_STATUS"}  # no data
    assert [r["path"] for r in sandbox.requests] == ["/v1.svc/users/details"]


def tap_litmos_test_errors(tmp_path: Path, config: dict) -> list[str]:
    """The ERROR lines `tap-litmos --test` logs for `config`, messages only."""
    config_file = tmp_path / "tap-config.json"
    config_file.write_text(json.dumps(config))
    result = subprocess.run(
        [sys.executable, "-m", "tap_litmos", "--config", str(config_file), "--test"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 1, result.stderr
    return re.findall(r"\| ERROR\s+\| tap-litmos\s+\| (.*)", result.stderr)


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"api_key": "a-wrong-key-123"}, "rejected the API key (HTTP 401)"),
        ({"start_date": "yesterday"}, "Setting 'start_date'"),
        ({"api_url": "http://example.com/v1.svc"}, "Setting 'api_url'"),
        ({"page_size": 0}, "Setting 'page_size'"),
    ],
    ids=["wrong key", "bad start_date", "plain http", "page_size 0"],
)
def test_check_fails_with_the_lines_tap_litmos_test_gives(
    tmp_path: Path, sandbox: LitmosSandbox, config: dict, change: dict, named: str
) -> None:
    bad = {**config, **change}
    expected = tap_litmos_test_errors(tmp_path, bad)
    sandbox.reset_log()
    run = run_source("check", tmp_path, config=bad)
    assert run.returncode == 0  # a failed check is a FAILED status, not a failed process
    assert_clean(run)
    (status,) = run.of_type("CONNECTION_STATUS")
    assert status["connectionStatus"]["status"] == "FAILED"
    message = status["connectionStatus"]["message"]
    assert message == "; ".join(expected)
    assert named in message
    assert "\n" not in message
    assert not any("Traceback" in line for line in run.logs)
    if "api_key" not in change:
        assert sandbox.requests == []  # a bad setting is refused before any request


# --- discover ------------------------------------------------------------------------------


def test_discover_offers_the_default_streams_with_their_sync_modes(
    tmp_path: Path, sandbox: LitmosSandbox, config: dict
) -> None:
    catalog = discover(tmp_path, config)
    assert sandbox.requests == []
    offered = {stream["name"]: stream for stream in catalog["streams"]}
    assert sorted(offered) == sorted(DEFAULT_STREAMS)
    assert len(offered) == len(STREAM_TYPES) - len(FAN_OUTS)
    assert not set(FAN_OUTS) & set(offered)
    for name, stream in offered.items():
        tap = tap_streams()[name]
        assert stream["json_schema"] == tap["schema"], name
        assert stream["source_defined_primary_key"] == [[k] for k in tap["table-key-properties"]]
        cursor = tap.get("replication-key")
        if cursor:
            assert stream["supported_sync_modes"] == ["full_refresh", "incremental"], name
            assert stream["source_defined_cursor"] is True
            assert stream["default_cursor_field"] == [cursor]
        else:
            assert stream["supported_sync_modes"] == ["full_refresh"], name
            assert "default_cursor_field" not in stream
    assert {n for n, s in offered.items() if "incremental" in s["supported_sync_modes"]} == {
        "achievements", "course_modules", "course_results", "learning_path_courses",
        "learning_path_results", "login_activity", "module_results", "team_courses",
        "team_learning_paths", "team_users", "user_courses", "user_learning_paths",
    }  # fmt: skip


def test_a_fan_out_is_offered_only_when_its_setting_names_it(
    tmp_path: Path, sandbox: LitmosSandbox, config: dict
) -> None:
    catalog = discover(tmp_path, {**config, "fan_out_streams": ["user_badges", "ilt_rollcall"]})
    offered = {stream["name"]: stream for stream in catalog["streams"]}
    assert sorted(offered) == sorted([*DEFAULT_STREAMS, "user_badges", "ilt_rollcall"])
    assert offered["user_badges"]["supported_sync_modes"] == ["full_refresh"]

    bad = run_source("discover", tmp_path, config={**config, "fan_out_streams": ["users"]})
    assert bad.returncode == 1
    assert bad.error()["failure_type"] == "config_error"
    assert "Setting 'fan_out_streams'" in bad.error()["message"]


def test_a_stream_not_offered_is_refused_and_an_offered_fan_out_reads_in_full(
    tmp_path: Path, sandbox: LitmosSandbox, config: dict
) -> None:
    with_badges = {**config, "fan_out_streams": ["user_badges"]}
    catalog = configured_catalog(discover(tmp_path, with_badges), ["user_badges"])
    refused = run_source("read", tmp_path, config=config, catalog=catalog, label="refused")
    assert refused.returncode == 1
    assert refused.error()["failure_type"] == "config_error"
    assert "'user_badges' is not offered" in refused.error()["message"]
    assert sandbox.requests == []

    run = run_source("read", tmp_path, config=with_badges, catalog=catalog)
    assert run.returncode == 0, run.tail()
    got = records_by_key([run], sandbox, "user_badges")
    assert got == expected_rows(sandbox, "user_badges")
    assert run.records("users") == []  # the parent is read, not emitted


def test_course_custom_fields_read_with_one_request_and_their_values_one_per_course(
    tmp_path: Path, sandbox: LitmosSandbox, config: dict
) -> None:
    names = ["course_custom_fields", "course_custom_field_values"]
    with_values = {**config, "fan_out_streams": ["course_custom_field_values"]}
    catalog = discover(tmp_path, with_values)
    assert set(names) <= {stream["name"] for stream in catalog["streams"]}
    run = run_source(
        "read", tmp_path, config=with_values, catalog=configured_catalog(catalog, names)
    )
    assert run.returncode == 0, run.tail()
    for stream in names:
        assert records_by_key([run], sandbox, stream) == expected_rows(sandbox, stream), stream
    assert len(requests_to(sandbox, "course_custom_fields")) == 1
    courses = sorted(r["Id"] for r in sandbox.truth("courses"))
    per_course = requests_to(sandbox, "course_custom_field_values")
    assert sorted(r["path"].split("/")[3] for r in per_course) == courses


# --- read ----------------------------------------------------------------------------------


def test_a_first_read_equals_the_truth_and_a_second_one_reads_only_the_changes(
    tmp_path: Path, sandbox: LitmosSandbox, dated: dict
) -> None:
    before = time.time_ns() // 1_000_000
    first = read(tmp_path, dated, state=[], label="first")  # PyAirbyte's first read: `[]`
    after = time.time_ns() // 1_000_000
    assert first.returncode == 0, first.tail()
    assert_clean(first)
    assert {m["type"] for m in first.messages} == {"RECORD", "STATE", "LOG"}
    for stream in DEFAULT_STREAMS:
        expected = expected_rows(sandbox, stream, dated)
        assert records_by_key([first], sandbox, stream) == expected, stream
        assert len(first.records(stream)) == len(expected), stream
    for message in first.of_type("RECORD"):
        assert before <= message["record"]["emitted_at"] <= after

    cursors = {n: m.get("replication-key") for n, m in tap_streams().items()}
    for state in first.states:
        name = state["stream"]["stream_descriptor"]["name"]
        assert cursors[name], f"a STATE for {name}, which has no bookmark"
        assert set(state["stream"]["stream_state"]) == {"replication_key", "replication_key_value"}
        assert state["stream"]["stream_state"]["replication_key"] == cursors[name]
    bookmarks = first.bookmarks()
    assert set(bookmarks) == {n for n in DEFAULT_STREAMS if cursors[n]}
    bookmark = bookmarks["achievements"]["replication_key_value"]
    assert bookmark == max(r["AchievementDate"] for r in map(comparable, sandbox.truth()))

    # The same requests as tap-litmos with its default catalog, path by path.
    airbyte = collections.Counter(r["path"] for r in sandbox.requests)
    sandbox.reset_log()
    run_tap(dated)
    assert collections.Counter(r["path"] for r in sandbox.requests) == airbyte

    newer = max(r["AchievementDate"] for r in sandbox.truth()).replace(tzinfo=None)
    added = sandbox.add_achievements(count=3, achievement_date=newer + dt.timedelta(days=1))
    result = sandbox.truth("course_results")[5]
    touched = sandbox.touch(
        "course_results", (result["UserId"], result["Id"]), PercentageComplete=100
    )
    link = sandbox.truth("team_users")[2]
    removed = sandbox.remove_link("team_users", (link["TeamId"], link["Id"]))
    user = sandbox.add("users")
    # As PyAirbyte sends it: extra keys, and a state of a stream not in this read.
    state = state_as_sent(first.states)
    elsewhere = {"stream_descriptor": {"name": "not_read_here"}, "stream_state": {"x": 1}}
    state.append({**state[0], "stream": elsewhere})
    sandbox.reset_log()
    second = read(tmp_path, dated, state=state, label="second")
    assert second.returncode == 0, second.tail()
    assert_clean(second)

    for stream in DEFAULT_STREAMS:
        if stream != OWN_REQUESTS:
            assert len(requests_to(sandbox, stream)) <= 2, stream
    (since,) = [r["params"]["since"] for r in requests_to(sandbox, "achievements")]
    assert since == since_text(parse_utc(bookmark) - OVERLAP)
    new = {a.achievement_id for a in added}
    assert new <= {r["AchievementId"] for r in second.records("achievements")}
    for stream, row in (("course_results", touched), ("team_users", removed), ("users", user)):
        row = comparable(row)
        assert (
            records_by_key([second], sandbox, stream)[key_of(row, sandbox.spec(stream).key)] == row
        )
    for stream in DEFAULT_STREAMS:  # merged on the key, as a destination does
        merged = records_by_key([first, second], sandbox, stream)
        assert merged == expected_rows(sandbox, stream, dated), stream


def test_each_stream_state_goes_out_when_its_bookmark_moves(
    tmp_path: Path, sandbox: LitmosSandbox, dated: dict
) -> None:
    run = read(tmp_path, dated, ["course_results", "achievements", "users"])
    assert run.returncode == 0, run.tail()
    lines = run.messages
    windows = [
        s for s in run.states if s["stream"]["stream_descriptor"]["name"] == "course_results"
    ]
    # One per finished 7-day window, each later than the one before.
    values = [s["stream"]["stream_state"]["replication_key_value"] for s in windows]
    assert len(values) == len(requests_to(sandbox, "course_results")) > 10
    assert values == sorted(set(values))
    # sourceStats counts the records of that stream since its previous STATE.
    count = collections.Counter()
    for message in lines:
        if message["type"] == "RECORD":
            count[message["record"]["stream"]] += 1
        elif message["type"] == "STATE":
            name = message["state"]["stream"]["stream_descriptor"]["name"]
            assert message["state"]["sourceStats"]["recordCount"] == count.pop(name, 0)
    # Every record of a stream comes before the STATE that covers it.
    last_state = max(i for i, m in enumerate(lines) if m["type"] == "STATE")
    achievements = [i for i, m in enumerate(lines) if m["type"] == "RECORD"
                    and m["record"]["stream"] == "achievements"]  # fmt: skip
    assert max(achievements) < last_state


def test_full_refresh_ignores_the_incoming_state(
    tmp_path: Path, sandbox: LitmosSandbox, config: dict
) -> None:
    first = read(tmp_path, config, ["achievements"], label="first")
    state = state_as_sent(first.states)
    sandbox.reset_log()
    again = read(tmp_path, config, ["achievements"], state, sync_mode="full_refresh")
    assert again.returncode == 0, again.tail()
    assert [r["params"].get("since") for r in sandbox.requests] == [None]
    assert len(again.records("achievements")) == len(sandbox.truth())
    assert any("configured full_refresh" in line for line in again.logs)


def test_global_and_legacy_states_are_read_and_unknown_entries_noted(
    tmp_path: Path, sandbox: LitmosSandbox, config: dict
) -> None:
    first = read(tmp_path, config, ["achievements"], label="first")
    stream_state = first.bookmarks()["achievements"]
    state = [
        {"type": "GLOBAL", "global": {"shared_state": {}, "stream_states": [
            {"stream_descriptor": {"name": "achievements"}, "stream_state": stream_state}]}},
        {"type": "SOMETHING", "data": {}},
    ]  # fmt: skip
    sandbox.reset_log()
    run = read(tmp_path, config, ["achievements"], state)
    assert run.returncode == 0, run.tail()
    since = since_text(parse_utc(stream_state["replication_key_value"]) - OVERLAP)
    assert [r["params"]["since"] for r in sandbox.requests] == [since]
    assert any("cannot read" in line for line in run.logs)


def test_field_selection_in_the_configured_schema_is_honoured(
    tmp_path: Path, sandbox: LitmosSandbox, config: dict
) -> None:
    catalog = configured_catalog(discover(tmp_path, config), ["users"])
    schema = catalog["streams"][0]["stream"]["json_schema"]
    schema["properties"] = {k: schema["properties"][k] for k in ("Id", "FirstName")}
    run = run_source("read", tmp_path, config=config, catalog=catalog)
    assert run.returncode == 0, run.tail()
    truth = {r["Id"]: r["FirstName"] for r in sandbox.truth("users")}
    assert {r["Id"]: r["FirstName"] for r in run.records("users")} == truth
    assert {frozenset(r) for r in run.records("users")} == {frozenset({"Id", "FirstName"})}


# --- failures --------------------------------------------------------------------------------


def assert_resumes_losing_nothing(
    tmp_path: Path, sandbox: LitmosSandbox, config: dict, failed: SourceRun, streams: list[str]
) -> SourceRun:
    """Resume from the STATEs the failed read got out; both reads hold every truth row."""
    resumed = read(tmp_path, config, streams, state_as_sent(failed.states), label="resume")
    assert resumed.returncode == 0, resumed.tail()
    for stream in streams:
        copies = failed.records(stream) + resumed.records(stream)
        expected = expected_rows(sandbox, stream, config)
        keys = sandbox.spec(stream).key
        assert all(expected[key_of(r, keys)] == r for r in copies), stream
        assert {key_of(r, keys) for r in copies} == set(expected), stream
    return resumed


def test_a_rejected_key_mid_read_is_a_config_error_then_exit_1_and_nothing_is_lost(
    tmp_path: Path, sandbox: LitmosSandbox, config: dict
) -> None:
    streams = ["course_results", "achievements"]
    # achievements (one page), the earliest-user probe, four course_results windows; then
    # Litmos refuses the key.
    sandbox.inject("401", after=6)
    failed = read(tmp_path, config, streams, label="failed")
    assert failed.returncode == 1
    assert_clean(failed)
    assert failed.messages[-1]["type"] == "TRACE"
    error = failed.error()
    assert error["failure_type"] == "config_error"
    assert error["message"].startswith("Litmos rejected the API key (HTTP 401)")
    assert "stack_trace" not in error
    assert not any("Traceback" in line for line in failed.logs)
    assert [s["stream"]["stream_descriptor"]["name"] for s in failed.states] == [
        "achievements",
        *["course_results"] * 4,
    ]

    sandbox.reset_log()
    resumed = assert_resumes_losing_nothing(tmp_path, sandbox, config, failed, streams)
    # The resumed read starts at the last window the failed one finished, less the
    # overlap every incremental run re-reads (and 1 s before that).
    resumed_from = parse_utc(failed.bookmarks()["course_results"]["replication_key_value"])
    first = requests_to(sandbox, "course_results")[0]["params"]["since"]
    assert first == since_text(resumed_from - OVERLAP - dt.timedelta(seconds=1))
    assert len(requests_to(sandbox, "achievements")) == 1
    assert (
        resumed.bookmarks()["course_results"]["replication_key_value"]
        > (failed.bookmarks()["course_results"]["replication_key_value"])
    )


@pytest.mark.parametrize("stop", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_a_read_stopped_by_a_signal_fails_and_the_next_one_loses_nothing(
    tmp_path: Path, sandbox: LitmosSandbox, dated: dict, stop: int
) -> None:
    streams = ["course_results", "achievements"]
    whole = read(tmp_path, dated, streams, label="whole")
    states = [i for i, m in enumerate(whole.messages) if m["type"] == "STATE"]
    # Some way into module_results: records after its last STATE, before the next one.
    middle = states[len(states) // 2]
    cut = next(i for i in range(middle, len(whole.messages))
               if whole.messages[i]["type"] == "RECORD") + 1  # fmt: skip
    failed = read(tmp_path, dated, streams, label="stopped", stop_after=cut, stop_signal=stop)
    assert failed.returncode == (-signal.SIGKILL if stop == signal.SIGKILL else 1)
    assert_clean(failed)
    if stop == signal.SIGTERM:
        assert failed.messages[-1]["type"] == "TRACE"
        assert failed.error()["message"] == "source-litmos was stopped by SIGTERM"
        assert failed.error()["failure_type"] == "transient_error"
    assert 0 < len(failed.states) < len(whole.states)
    assert_resumes_losing_nothing(tmp_path, sandbox, dated, failed, streams)


@pytest.mark.parametrize("command", ["check", "discover", "read"])
def test_batch_is_refused_as_a_config_error_before_any_request(
    tmp_path: Path, sandbox: LitmosSandbox, config: dict, command: str
) -> None:
    batch = {
        **config,
        "batch_config": {"encoding": {"format": "jsonl"}, "storage": {"root": "file:///tmp"}},
    }
    catalog = configured_catalog(discover(tmp_path, config), ["users"])
    run = run_source(
        command, tmp_path, config=batch, catalog=catalog if command == "read" else None
    )
    assert sandbox.requests == []
    if command == "check":
        (status,) = run.of_type("CONNECTION_STATUS")
        message = status["connectionStatus"]["message"]
    else:
        assert run.returncode == 1
        assert run.error()["failure_type"] == "config_error"
        message = run.error()["message"]
    assert message.startswith("Setting 'batch_config': not available in source-litmos")


@pytest.mark.parametrize("log_level", ["INFO", "DEBUG"])
def test_logs_are_log_messages_and_the_key_is_in_no_byte(
    tmp_path: Path, sandbox: LitmosSandbox, config: dict, log_level: str, monkeypatch: t.Any
) -> None:
    monkeypatch.setenv("TAP_LITMOS_LOGLEVEL", log_level)
    users = sandbox.truth("users")
    sandbox.set_raw("users", users[1]["Id"], "FirstName", f"echo {API_KEY} echo")
    sandbox.set_raw("users", users[2]["Id"], "Points", "lots")
    sandbox.inject("500")  # one retry, logged
    run = read(tmp_path, config, ["users"])
    assert run.returncode == 0, run.tail()
    assert_clean(run)
    by_id = {r["Id"]: r for r in run.records("users")}
    assert by_id[users[1]["Id"]]["FirstName"] == "echo [redacted] echo"
    assert by_id[users[2]["Id"]]["Points"] is None
    levels = {m["log"]["level"] for m in run.of_type("LOG")}
    assert "WARN" in levels
    assert ("DEBUG" in levels) == (log_level == "DEBUG")
    assert any("Set to null" in line and "Points" in line for line in run.logs)
    assert any("Retrying users" in line for line in run.logs)
