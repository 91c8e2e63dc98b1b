"""PyAirbyte, a real Airbyte client, reads the sandbox through `source-litmos`.

PyAirbyte 0.71.3 runs in a virtualenv of its own (tests/helpers/pyairbyte_env.py, built by the
test command on first use), offline, as a user's script would: `get_source` with the
console script as local executable, `check`, discover, `read` into a DuckDB cache. One
driver process (tests/helpers/pyairbyte_driver.py) serves every call of this module; the
sandbox runs here, so a test changes Litmos between two reads.

Every source process PyAirbyte starts is a small recording wrapper around
`source-litmos`: it passes the lines on unchanged and keeps a copy of every byte (and of
the state file PyAirbyte hands over), so each test can check that every line validates
against PyAirbyte's protocol models and that the key is in no byte. The same wrapper
SIGKILLs the source mid-read when asked to.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import json
import os
import subprocess
import sys
import typing as t
from pathlib import Path

import pytest

from tap_litmos.streams import STREAM_TYPES
from tests.helpers import pyairbyte_env
from tests.helpers.airbyte_source import SOURCE, run_source
from tests.helpers.catalog import requests_to
from tests.helpers.expect import API_KEY, canonical, key_of

if t.TYPE_CHECKING:
    from collections.abc import Iterator

    from litmos_sandbox import LitmosSandbox

pytestmark = pytest.mark.platform

DRIVER = Path(__file__).resolve().parent / "helpers" / "pyairbyte_driver.py"
ROOT = Path(__file__).resolve().parent.parent
TAP_CATALOG = json.loads((ROOT / "catalog.json").read_text())
DEFAULT_STREAMS = sorted(
    entry["tap_stream_id"]
    for entry in TAP_CATALOG["streams"]
    if next(m for m in entry["metadata"] if m["breadcrumb"] == [])["metadata"].get(
        "selected-by-default", True
    )
)
#: Its rows ride in ilt_sessions' pages: no request of its own.
NO_REQUESTS = "ilt_session_days"
#: As test_airbyte_protocol: a start_date before every /org/* row of the sandbox.
DAYS_BEFORE_ANCHOR = 470
#: What the failure tests read: one stream of each access pattern the changes touch.
FAILURE_STREAMS = ["achievements", "course_results", "users"]

_WRAPPER = '''#!{python}
"""source-litmos, recorded: every stdout byte copied to {capture}; a read is SIGKILLed
on the line after its N-th STATE when N is set."""
import os, shutil, signal, subprocess, sys
from pathlib import Path
capture = Path({capture!r})
capture.mkdir(parents=True, exist_ok=True)
label = f"{{len(list(capture.glob('*.out'))):03d}}-{{sys.argv[1]}}"
if "--state" in sys.argv:
    shutil.copy(sys.argv[sys.argv.index("--state") + 1], capture / f"{{label}}.state.json")
kill_after_states = {kill_after_states!r} if sys.argv[1] == "read" else None
states = 0
doomed = False
with open(capture / f"{{label}}.out", "wb") as out, open(capture / f"{{label}}.err", "wb") as err:
    child = subprocess.Popen([{source!r}, *sys.argv[1:]], stdout=subprocess.PIPE, stderr=err)
    for line in child.stdout:
        out.write(line)
        out.flush()
        sys.stdout.buffer.write(line)
        sys.stdout.buffer.flush()
        if doomed:
            child.kill()
            os.kill(os.getpid(), signal.SIGKILL)
        states += line.startswith(b'{{"type":"STATE"')
        doomed = bool(kill_after_states) and states == kill_after_states
    sys.exit(child.wait())
'''


class PyAirbyte:
    """The driver process in PyAirbyte's virtualenv: one request, one answer."""

    def __init__(self, python: Path, home: Path) -> None:
        self.logs = home / "logs"
        read_end, write_end = os.pipe()
        env = {
            **os.environ,
            **pyairbyte_env.OFFLINE_ENV,
            "AIRBYTE_LOGGING_ROOT": str(self.logs),
            "AIRBYTE_PROJECT_DIR": str(home / "project"),
        }
        self._stderr = (home / "driver.err").open("wb")
        self._proc = subprocess.Popen(
            [str(python), str(DRIVER), str(write_end)],
            stdin=subprocess.PIPE, stdout=self._stderr, stderr=self._stderr,
            pass_fds=[write_end], env=env, cwd=home, text=True,
        )  # fmt: skip
        os.close(write_end)
        self._answers = os.fdopen(read_end, encoding="utf-8")
        ready = self._answers.readline()
        assert ready, f"the PyAirbyte driver did not start:\n{self.stderr_tail()}"
        assert json.loads(ready) == {"ready": "0.71.3"}

    def call(self, op: str, **request: t.Any) -> dict:
        assert self._proc.stdin is not None
        self._proc.stdin.write(json.dumps({"op": op, **request}) + "\n")
        self._proc.stdin.flush()
        line = self._answers.readline()
        assert line, f"the PyAirbyte driver died:\n{self.stderr_tail()}"
        return json.loads(line)

    def ok(self, op: str, **request: t.Any) -> dict:
        answer = self.call(op, **request)
        assert answer["ok"], f"{op} failed: {answer['message'][:3000]}\n{answer['traceback']}"
        return answer

    def stderr_tail(self) -> str:
        self._stderr.flush()
        return Path(self._stderr.name).read_text(errors="replace")[-5000:]

    def close(self) -> None:
        assert self._proc.stdin is not None
        self._proc.stdin.close()
        try:
            self._proc.wait(timeout=60)
        finally:
            if self._proc.poll() is None:
                self._proc.kill()
            self._answers.close()
            self._stderr.close()


@pytest.fixture(scope="module")
def pyairbyte(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PyAirbyte]:
    try:
        python = pyairbyte_env.python()
    except pyairbyte_env.PyAirbyteUnavailableError as exc:
        pytest.fail(f"PyAirbyte could not be installed: {exc}")  # a gap, never a skip
    driver = PyAirbyte(python, tmp_path_factory.mktemp("pyairbyte"))
    yield driver
    driver.close()


@dataclasses.dataclass
class Source:
    """The recorded `source-litmos` PyAirbyte runs, and where its bytes were copied."""

    executable: Path
    capture: Path

    def runs(self, command: str) -> list[Path]:
        return sorted(self.capture.glob(f"*-{command}.out"))

    def states_sent(self) -> list[object]:
        """The state files PyAirbyte handed to each read, in order."""
        return [json.loads(p.read_text()) for p in sorted(self.capture.glob("*.state.json"))]


def recorded_source(
    tmp_path: Path, name: str = "source", kill_after_states: int | None = None
) -> Source:
    """A recording wrapper; with `kill_after_states`, a read dies on the line after that
    many STATEs (the source and the wrapper by SIGKILL, as an out-of-memory kill would)."""
    capture = tmp_path / f"{name}-capture"
    executable = tmp_path / name
    executable.write_text(
        _WRAPPER.format(
            python=sys.executable,
            capture=str(capture),
            kill_after_states=kill_after_states,
            source=str(SOURCE),
        )
    )
    executable.chmod(0o755)
    return Source(executable, capture)


@pytest.fixture
def source(tmp_path: Path) -> Source:
    return recorded_source(tmp_path)


@pytest.fixture
def dated(sandbox: LitmosSandbox, config: dict) -> dict:
    start = sandbox.world.anchor - dt.timedelta(days=DAYS_BEFORE_ANCHOR)
    return {**config, "start_date": start.date().isoformat()}


# --- comparing the cache with the truth ------------------------------------------------------


def from_cache(value: object) -> object:
    """A value as the driver sent it: DuckDB's datetimes and decimals come tagged."""
    if isinstance(value, dict) and "$datetime" in value:
        return dt.datetime.fromisoformat(value["$datetime"])
    if isinstance(value, dict) and "$decimal" in value:
        return decimal.Decimal(value["$decimal"])
    return value


def as_cached(value: object) -> object:
    """A truth value as PyAirbyte stores what the source emits: date-times as zone-less
    UTC TIMESTAMPs at the emitted millisecond, numbers as DECIMAL."""
    if isinstance(value, dt.datetime):
        return dt.datetime.fromisoformat(canonical(value)[:-1])
    if isinstance(value, float):
        return decimal.Decimal(str(value))
    return value


def cached_rows(tables: dict, stream: str, keys: list[str]) -> dict[tuple, dict] | None:
    rows = tables[stream]
    if rows is None:
        return None
    out = {}
    for row in rows:
        row = {k: from_cache(v) for k, v in row.items()}
        out[tuple(row[k.lower()] for k in keys)] = row
    assert len(out) == len(rows), f"{stream}: a key twice in the cache"
    return out


def truth_rows(sandbox: LitmosSandbox, stream: str, config: dict) -> dict[tuple, dict]:
    """The truth of `stream` as the cache must hold it: lowercase columns, by key."""
    spec = sandbox.spec(stream)
    rows = sandbox.truth(stream)
    if stream == "achievements" and config.get("start_date"):
        start = dt.datetime.fromisoformat(config["start_date"]).replace(tzinfo=dt.timezone.utc)
        rows = [r for r in rows if r["AchievementDate"] >= start]
    out = {}
    for row in rows:
        cached = {k.lower(): as_cached(v) for k, v in row.items()}
        out[tuple(as_cached(v) for v in key_of(row, spec.key))] = cached
    return out


def assert_cache_equals_truth(
    pyairbyte: PyAirbyte, cache_dir: Path, sandbox: LitmosSandbox, config: dict, streams: list[str]
) -> dict:
    answer = pyairbyte.ok("tables", cache_dir=str(cache_dir), streams=streams)
    for stream in streams:
        expected = truth_rows(sandbox, stream, config)
        got = cached_rows(answer["tables"], stream, sandbox.spec(stream).key)
        assert got is not None, f"{stream}: no table"
        assert got.keys() == expected.keys(), stream
        for key, row in expected.items():
            assert got[key] == row, f"{stream} {key}"
    return answer


def read(
    pyairbyte: PyAirbyte, source: Source, config: dict, cache_dir: Path, streams: object = "*",
    **options: t.Any,
) -> dict:  # fmt: skip
    return pyairbyte.call(
        "read", executable=str(source.executable), config=config, streams=streams,
        cache_dir=str(cache_dir), **options,
    )  # fmt: skip


def assert_outputs_clean(pyairbyte: PyAirbyte, *sources: Source) -> dict[str, int]:
    """Every line each source wrote validates against PyAirbyte's protocol models; no
    stderr; the key in no byte of the source's output or PyAirbyte's logs."""
    outs = [p for source in sources for p in sorted(source.capture.glob("*.out"))]
    assert outs
    answer = pyairbyte.ok("validate", paths=[str(p) for p in outs])
    assert answer["problems"] == []
    for path in outs:
        assert API_KEY.encode() not in path.read_bytes(), path
        assert path.with_suffix(".err").read_bytes() == b"", path
    logs = [p for p in pyairbyte.logs.rglob("*") if p.is_file()]
    assert logs
    for path in logs:
        assert API_KEY.encode() not in path.read_bytes(), path
    return answer["types"]


def assert_states_are_stream_states(states: dict, streams: list[str]) -> None:
    """The cache's stored states: one STREAM state per incremental stream, no key in them."""
    cursors = {
        entry["tap_stream_id"]: entry.get("replication_key") for entry in TAP_CATALOG["streams"]
    }
    assert sorted(states) == sorted(s for s in streams if cursors[s])
    for name, state in states.items():
        assert state["type"] == "STREAM"
        assert state["stream"]["stream_descriptor"]["name"] == name
        assert state["stream"]["stream_state"]["replication_key"] == cursors[name]
    assert API_KEY not in json.dumps(states)


def change_the_sandbox(sandbox: LitmosSandbox) -> None:
    """New achievements, a changed result, a removed team membership, a new user."""
    newest = max(r["AchievementDate"] for r in sandbox.truth()).replace(tzinfo=None)
    sandbox.add_achievements(count=3, achievement_date=newest + dt.timedelta(days=1))
    result = sandbox.truth("course_results")[5]
    sandbox.touch("course_results", (result["UserId"], result["Id"]), PercentageComplete=100)
    link = sandbox.truth("team_users")[2]
    sandbox.remove_link("team_users", (link["TeamId"], link["Id"]))
    sandbox.add("users")


def assert_at_most_two_requests_per_stream(sandbox: LitmosSandbox, streams: list[str]) -> None:
    for stream in streams:
        if stream != NO_REQUESTS:
            assert len(requests_to(sandbox, stream)) <= 2, stream


# --- tests -------------------------------------------------------------------------------------


def test_spec_check_and_discover(
    pyairbyte: PyAirbyte, source: Source, sandbox: LitmosSandbox, config: dict, tmp_path: Path
) -> None:
    call = {"executable": str(source.executable)}
    (spec_message,) = run_source("spec", tmp_path).of_type("SPEC")
    spec = pyairbyte.ok("spec", config=config, **call)["spec"]
    assert spec == spec_message["spec"]["connectionSpecification"]

    assert pyairbyte.call("validate_config", config=config, **call)["ok"]
    refused = pyairbyte.call("validate_config", config={**config, "page_size": 5000}, **call)
    assert not refused["ok"]
    assert "page_size" in refused["message"]

    assert pyairbyte.ok("check", config=config, **call)["status"] == "SUCCEEDED"
    wrong = pyairbyte.ok("check", config={**config, "api_key": "a-wrong-key-123"}, **call)
    assert wrong["status"] == "FAILED"
    assert wrong["reason"].startswith("Litmos rejected the API key (HTTP 401)")
    bad = pyairbyte.ok("check", config={**config, "start_date": "yesterday"}, **call)
    assert bad["status"] == "FAILED"
    assert bad["reason"].startswith("Setting 'start_date': must be an ISO 8601 date")

    found = pyairbyte.ok("discover", config=config, **call)
    assert sorted(found["available"]) == DEFAULT_STREAMS
    assert len(found["available"]) == sum(s.selected_by_default for s in STREAM_TYPES)
    for entry in TAP_CATALOG["streams"]:
        name = entry["tap_stream_id"]
        if name not in DEFAULT_STREAMS:
            continue
        stream = found["streams"][name]
        assert stream["source_defined_primary_key"] == [[k] for k in entry["key_properties"]]
        if entry.get("replication_key"):
            assert stream["supported_sync_modes"] == ["full_refresh", "incremental"]
            assert stream["source_defined_cursor"] is True
            assert stream["default_cursor_field"] == [entry["replication_key"]]
        else:
            assert stream["supported_sync_modes"] == ["full_refresh"]
    with_badges = pyairbyte.ok(
        "discover", config={**config, "fan_out_streams": ["user_badges"]}, **call
    )
    assert sorted(with_badges["available"]) == sorted([*DEFAULT_STREAMS, "user_badges"])
    assert_outputs_clean(pyairbyte, source)


def test_two_reads_of_every_default_stream_equal_the_truth_the_second_with_few_requests(
    pyairbyte: PyAirbyte, source: Source, sandbox: LitmosSandbox, dated: dict, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    first = read(pyairbyte, source, dated, cache)
    assert first["ok"], first["message"]
    first_requests = len(sandbox.requests)
    answer = assert_cache_equals_truth(pyairbyte, cache, sandbox, dated, DEFAULT_STREAMS)
    assert_states_are_stream_states(answer["states"], DEFAULT_STREAMS)

    change_the_sandbox(sandbox)
    sandbox.reset_log()
    second = read(pyairbyte, source, dated, cache)
    assert second["ok"], second["message"]
    assert_at_most_two_requests_per_stream(sandbox, DEFAULT_STREAMS)
    second_requests = len(sandbox.requests)
    answer = assert_cache_equals_truth(pyairbyte, cache, sandbox, dated, DEFAULT_STREAMS)
    assert_states_are_stream_states(answer["states"], DEFAULT_STREAMS)

    # What PyAirbyte handed over: `[]` first, then an array of STREAM states with extras.
    first_state, second_state = source.states_sent()
    assert first_state == []
    assert {s["type"] for s in second_state} == {"STREAM"}
    assert {"global_", "data", "sourceStats"} <= set(second_state[0])
    types = assert_outputs_clean(pyairbyte, source)
    assert types["RECORD"] == first["processed_records"] + second["processed_records"]
    print(f"PyAirbyte reads: {first_requests} then {second_requests} requests")  # noqa: T201


def test_full_refresh_with_replace_drops_a_user_deleted_in_litmos(
    pyairbyte: PyAirbyte, source: Source, sandbox: LitmosSandbox, config: dict, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    assert read(pyairbyte, source, config, cache, ["users"])["ok"]
    gone = sandbox.truth("users")[4]["Id"]
    sandbox.delete_user(gone)

    assert read(pyairbyte, source, config, cache, ["users"])["ok"]  # merges on the key
    tables = pyairbyte.ok("tables", cache_dir=str(cache), streams=["users"])["tables"]
    assert (gone,) in cached_rows(tables, "users", ["Id"])

    replaced = read(pyairbyte, source, config, cache, ["users"], force_full_refresh=True,
                    write_strategy="replace")  # fmt: skip
    assert replaced["ok"], replaced["message"]
    assert_cache_equals_truth(pyairbyte, cache, sandbox, config, ["users"])
    assert_outputs_clean(pyairbyte, source)


def _failed_read_then_resume(
    pyairbyte: PyAirbyte, tmp_path: Path, sandbox: LitmosSandbox, config: dict,
    fail: t.Callable[[Source, Path], dict],
) -> None:  # fmt: skip
    """A good read; changes; a read that fails (it must raise, keeping nothing of its
    own); a read that resumes from the last stored state and loses nothing."""
    streams = FAILURE_STREAMS
    good = recorded_source(tmp_path)
    cache = tmp_path / "cache"
    assert read(pyairbyte, good, config, cache, streams)["ok"]
    before = pyairbyte.ok("tables", cache_dir=str(cache), streams=streams)

    change_the_sandbox(sandbox)
    failed = fail(good, cache)
    assert not failed["ok"]
    # Raised on the source's non-zero exit (1 after its TRACE; -9 when killed).
    assert failed["error_type"] == "AirbyteConnectorFailedError", failed["message"]
    assert pyairbyte.ok("tables", cache_dir=str(cache), streams=streams) == before

    sandbox.clear_faults()
    sandbox.reset_log()
    resumed = read(pyairbyte, good, config, cache, streams)
    assert resumed["ok"], resumed["message"]
    assert_at_most_two_requests_per_stream(sandbox, streams)
    answer = assert_cache_equals_truth(pyairbyte, cache, sandbox, config, streams)
    assert_states_are_stream_states(answer["states"], streams)
    assert_outputs_clean(pyairbyte, good)


def test_a_rejected_key_mid_read_raises_and_the_next_read_loses_nothing(
    pyairbyte: PyAirbyte, sandbox: LitmosSandbox, dated: dict, tmp_path: Path
) -> None:
    def refuse_after_the_first_page(source: Source, cache: Path) -> dict:
        sandbox.inject("401", after=1)
        answer = read(pyairbyte, source, dated, cache, FAILURE_STREAMS)
        (out,) = source.runs("read")[-1:]
        trace = [json.loads(line) for line in out.read_text().splitlines() if '"TRACE"' in line]
        assert trace[-1]["trace"]["error"]["failure_type"] == "config_error"
        return answer

    _failed_read_then_resume(pyairbyte, tmp_path, sandbox, dated, refuse_after_the_first_page)


def test_a_source_killed_mid_read_raises_and_the_next_read_loses_nothing(
    pyairbyte: PyAirbyte, sandbox: LitmosSandbox, dated: dict, tmp_path: Path
) -> None:
    def kill_mid_read(_good: Source, cache: Path) -> dict:
        # After the first stream's STATE, as the next stream begins.
        doomed = recorded_source(tmp_path, "doomed", kill_after_states=1)
        answer = read(pyairbyte, doomed, dated, cache, FAILURE_STREAMS)
        (out,) = doomed.runs("read")
        lines = out.read_bytes().splitlines()
        assert [line.startswith(b'{"type":"STATE"') for line in lines].count(True) == 1
        assert lines[-2].startswith(b'{"type":"STATE"')
        assert_outputs_clean(pyairbyte, doomed)
        return answer

    _failed_read_then_resume(pyairbyte, tmp_path, sandbox, dated, kill_mid_read)


def test_a_key_echoed_by_litmos_is_redacted_in_the_cache_and_everywhere_else(
    pyairbyte: PyAirbyte, source: Source, sandbox: LitmosSandbox, config: dict, tmp_path: Path
) -> None:
    user = sandbox.truth("users")[3]["Id"]
    sandbox.set_raw("users", user, "FirstName", f"echo {API_KEY} echo")
    cache = tmp_path / "cache"
    assert read(pyairbyte, source, config, cache, ["users"])["ok"]
    tables = pyairbyte.ok("tables", cache_dir=str(cache), streams=["users"])["tables"]
    assert cached_rows(tables, "users", ["Id"])[(user,)]["firstname"] == "echo [redacted] echo"
    assert API_KEY not in json.dumps(tables)
    assert_outputs_clean(pyairbyte, source)
