"""Running `source-litmos` as Airbyte runs it: a process, files in, one message a line out.

Shared by the protocol tests (tests/tap_litmos/airbyte/test_airbyte_protocol.py), the PyAirbyte
tests (tests/test_pyairbyte.py) and the benchmark. Every stdout line must be one JSON
object of a known Airbyte message type with the fields that type requires
(`check_message`); the full protocol models check the same lines in the PyAirbyte tests.
"""

from __future__ import annotations

import dataclasses
import json
import signal
import subprocess
import sys
import threading
import typing as t
from pathlib import Path

if t.TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

SOURCE = Path(sys.executable).parent / "source-litmos"
#: Safety net only: a hung source must not hang the suite.
RUN_TIMEOUT_SECONDS = 300.0
FAILURE_TYPES = {"system_error", "config_error", "transient_error"}
LOG_LEVELS = {"FATAL", "ERROR", "WARN", "INFO", "DEBUG", "TRACE"}


@dataclasses.dataclass
class SourceRun:
    """One source-litmos process: the messages it wrote and how it ended."""

    messages: list[dict]
    returncode: int
    stderr: str
    stdout: bytes

    def of_type(self, kind: str) -> list[dict]:
        return [m for m in self.messages if m["type"] == kind]

    def records(self, stream: str) -> list[dict]:
        return [
            m["record"]["data"] for m in self.of_type("RECORD") if m["record"]["stream"] == stream
        ]

    @property
    def states(self) -> list[dict]:
        """The STATE messages' `state` objects, in order."""
        return [m["state"] for m in self.of_type("STATE")]

    def bookmarks(self) -> dict[str, dict]:
        """The last stream_state of each stream."""
        return {
            s["stream"]["stream_descriptor"]["name"]: s["stream"]["stream_state"]
            for s in self.states
        }

    @property
    def logs(self) -> list[str]:
        return [m["log"]["message"] for m in self.of_type("LOG")]

    def error(self) -> dict:
        """The one TRACE ERROR's `error`."""
        (trace,) = [m["trace"] for m in self.of_type("TRACE")]
        assert trace["type"] == "ERROR"
        return trace["error"]

    def tail(self, lines: int = 20) -> str:
        return "\n".join(json.dumps(m)[:300] for m in self.messages[-lines:]) + self.stderr


def check_message(message: object) -> None:
    """One stdout line, parsed: a known Airbyte message with what its type requires."""
    assert isinstance(message, dict), message
    kind = message.get("type")
    if kind == "RECORD":
        record = message["record"]
        assert isinstance(record["stream"], str)
        assert isinstance(record["data"], dict)
        assert isinstance(record["emitted_at"], int), record
    elif kind == "STATE":
        state = message["state"]
        assert state["type"] == "STREAM", state  # never LEGACY or GLOBAL
        assert isinstance(state["stream"]["stream_descriptor"]["name"], str)
        assert isinstance(state["stream"]["stream_state"], dict)
    elif kind == "LOG":
        assert message["log"]["level"] in LOG_LEVELS
        assert isinstance(message["log"]["message"], str)
    elif kind == "TRACE":
        trace = message["trace"]
        assert trace["type"] == "ERROR"
        assert isinstance(trace["emitted_at"], (int, float))
        assert isinstance(trace["error"]["message"], str)
        assert trace["error"]["failure_type"] in FAILURE_TYPES
    elif kind == "SPEC":
        assert isinstance(message["spec"]["connectionSpecification"], dict)
    elif kind == "CATALOG":
        assert isinstance(message["catalog"]["streams"], list)
    elif kind == "CONNECTION_STATUS":
        assert message["connectionStatus"]["status"] in {"SUCCEEDED", "FAILED"}
    else:
        msg = f"not an Airbyte message this source writes: {message!r:.300}"
        raise AssertionError(msg)


def write_json(path: Path, value: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value), encoding="utf-8")
    return path


def run_source(
    command: str,
    workdir: Path,
    *,
    config: Mapping[str, t.Any] | None = None,
    catalog: Mapping[str, t.Any] | None = None,
    state: object = None,
    stop_after: int | None = None,
    stop_signal: int = signal.SIGKILL,
    label: str | None = None,
) -> SourceRun:
    """Run `source-litmos COMMAND` with files in `workdir`; parse and check each line.

    With `stop_after`, the process gets `stop_signal` the moment that many lines have
    been read (SIGKILL: what Airbyte received is exactly those lines), and the lines it
    wrote after that signal (SIGTERM: its last words) are kept too.
    """
    label = label or command
    args = [str(SOURCE), command]
    for option, value in (("--config", config), ("--catalog", catalog), ("--state", state)):
        if value is not None:
            args += [option, str(write_json(workdir / f"{label}{option[1:]}.json", value))]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    watchdog = threading.Timer(RUN_TIMEOUT_SECONDS, proc.kill)
    watchdog.start()
    stderr: list[bytes] = []
    reader = threading.Thread(target=lambda: stderr.append(proc.stderr.read()))  # type: ignore[union-attr]
    reader.start()
    lines: list[bytes] = []
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if stop_after is not None and len(lines) == stop_after:
                proc.send_signal(stop_signal)
                if stop_signal == signal.SIGKILL:
                    break
        proc.stdout.close()
        proc.wait()
    finally:
        watchdog.cancel()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        reader.join()
        proc.stderr.close()  # type: ignore[union-attr]
    messages = parse_lines(lines, label)
    return SourceRun(messages, proc.returncode, b"".join(stderr).decode(), b"".join(lines))


def parse_lines(lines: Iterable[bytes], label: str) -> list[dict]:
    """Each complete stdout line as a checked message (a last line cut off is dropped)."""
    messages = []
    for number, line in enumerate(lines, 1):
        if not line.endswith(b"\n"):
            break  # cut off by the kill: Airbyte drops a partial line too
        try:
            message = json.loads(line)
        except ValueError as exc:
            msg = f"{label}: stdout line {number} is not JSON: {line[:200]!r}"
            raise AssertionError(msg) from exc
        check_message(message)
        messages.append(message)
    return messages


def discover(workdir: Path, config: Mapping[str, t.Any]) -> dict:
    """The CATALOG body discover gives for `config`."""
    run = run_source("discover", workdir, config=config)
    assert run.returncode == 0, run.tail()
    (message,) = run.of_type("CATALOG")
    return message["catalog"]


def configured_catalog(
    catalog: Mapping[str, t.Any],
    streams: Iterable[str] | None = None,
    *,
    sync_mode: str | Mapping[str, str] = "incremental",
) -> dict:
    """A configured catalog as PyAirbyte writes one: `incremental` for every stream
    (even one that offers only `full_refresh`), cursor = default, overwrite."""
    wanted = None if streams is None else set(streams)
    entries = []
    for stream in catalog["streams"]:
        if wanted is not None and stream["name"] not in wanted:
            continue
        mode = (
            sync_mode
            if isinstance(sync_mode, str)
            else sync_mode.get(stream["name"], "incremental")
        )
        entries.append({
            "stream": stream,
            "sync_mode": mode,
            "cursor_field": stream.get("default_cursor_field") or [],
            "destination_sync_mode": "overwrite",
            "primary_key": stream.get("source_defined_primary_key") or [],
            "generation_id": 1,
            "minimum_generation_id": 1,
            "sync_id": 1,
        })  # fmt: skip
    return {"streams": entries}


def state_as_sent(states: Iterable[Mapping[str, t.Any]]) -> list[dict]:
    """The last STATE of each stream, as PyAirbyte sends them back: an array with the
    extra keys its models add."""
    last: dict[str, Mapping[str, t.Any]] = {}
    for state in states:
        last[state["stream"]["stream_descriptor"]["name"]] = state
    return [
        {
            "type": "STREAM",
            "stream": {
                "stream_descriptor": {"name": name, "namespace": None},
                "stream_state": state["stream"]["stream_state"],
            },
            "global_": None,
            "data": None,
            "sourceStats": {"recordCount": 3.0, "rejectedRecordCount": None},
            "destinationStats": None,
        }
        for name, state in last.items()
    ]
