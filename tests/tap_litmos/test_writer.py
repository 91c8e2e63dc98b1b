"""The Singer writer: RECORD lines in blocks, everything else flushed in order; SCHEMA
once per change, ACTIVATE_VERSION once, after the records it covers."""

from __future__ import annotations

import io
import json

import pytest
from singer_sdk.singerlib.encoding.simple import (
    ActivateVersionMessage,
    RecordMessage,
    SchemaMessage,
    StateMessage,
)

from tap_litmos.writer import BLOCK_BYTES, BufferedMsgSpecWriter

pytestmark = pytest.mark.unit


class CountingStdout(io.TextIOWrapper):
    def __init__(self) -> None:
        self.raw_out = io.BytesIO()
        self.writes = 0
        super().__init__(self.raw_out, encoding="utf-8")

    @property
    def buffer(self) -> CountingStdout:  # type: ignore[override]
        return self

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self.writes += 1
        return self.raw_out.write(data)

    def flush(self) -> None:
        pass


def test_records_go_out_in_blocks_and_a_state_after_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    out = CountingStdout()
    monkeypatch.setattr("sys.stdout", out)
    writer = BufferedMsgSpecWriter()
    for i in range(1000):
        writer.write_message(RecordMessage(stream="s", record={"id": i, "pad": "x" * 200}))
    writer.write_message(StateMessage(value={"bookmarks": {"s": {"n": 999}}}))
    lines = [json.loads(line) for line in out.raw_out.getvalue().splitlines()]
    assert [m["record"]["id"] for m in lines[:-1]] == list(range(1000))
    assert lines[-1]["type"] == "STATE"
    size = len(out.raw_out.getvalue())
    assert out.writes <= size // BLOCK_BYTES + 2  # about 4 writes, not 1001


def test_flush_writes_what_is_left(monkeypatch: pytest.MonkeyPatch) -> None:
    out = CountingStdout()
    monkeypatch.setattr("sys.stdout", out)
    writer = BufferedMsgSpecWriter()
    writer.write_message(RecordMessage(stream="s", record={"id": 1}))
    assert out.raw_out.getvalue() == b""
    writer.flush()
    assert json.loads(out.raw_out.getvalue())["record"] == {"id": 1}


def written(out: CountingStdout) -> list[dict]:
    return [json.loads(line) for line in out.raw_out.getvalue().splitlines()]


def test_activate_version_waits_for_the_stream_and_goes_out_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    out = CountingStdout()
    monkeypatch.setattr("sys.stdout", out)
    writer = BufferedMsgSpecWriter()
    for parent in range(3):  # the SDK sends a child stream's version for every parent
        writer.write_message(ActivateVersionMessage(stream="child", version=7))
        writer.write_message(RecordMessage(stream="child", record={"id": parent}, version=7))
    writer.write_message(StateMessage(value={}))
    assert [m["type"] for m in written(out)] == ["RECORD"] * 3 + ["STATE"]
    writer.activate_held_versions()
    writer.activate_held_versions()  # nothing left to send
    assert written(out)[4:] == [{"type": "ACTIVATE_VERSION", "stream": "child", "version": 7}]


def test_without_holding_activate_version_goes_out_where_sent_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    out = CountingStdout()
    monkeypatch.setattr("sys.stdout", out)
    writer = BufferedMsgSpecWriter()
    writer.hold_versions = False
    for parent in range(3):
        writer.write_message(ActivateVersionMessage(stream="child", version=7))
        writer.write_message(RecordMessage(stream="child", record={"id": parent}, version=7))
    writer.flush()
    assert [m["type"] for m in written(out)] == ["ACTIVATE_VERSION"] + ["RECORD"] * 3


def test_a_repeated_schema_goes_out_once_a_changed_one_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The msgspec writer formats every message into one reused buffer: a line kept to
    # compare with must be a copy, or every later SCHEMA would look like a repeat.
    out = CountingStdout()
    monkeypatch.setattr("sys.stdout", out)
    writer = BufferedMsgSpecWriter()
    one = {"properties": {"id": {"type": "integer"}}}
    two = {"properties": {"id": {"type": "integer"}, "name": {"type": "string"}}}
    for schema in (one, one, two, two):
        writer.write_message(SchemaMessage(stream="s", schema=schema, key_properties=["id"]))
        writer.write_message(RecordMessage(stream="s", record={"id": 1}))
    writer.flush()
    schemas = [m["schema"] for m in written(out) if m["type"] == "SCHEMA"]
    assert schemas == [one, two]


class ShortWritingStdout(io.TextIOWrapper):
    """A raw stdout (as under PYTHONUNBUFFERED) that takes at most `most` bytes a call."""

    def __init__(self, most: int) -> None:
        self.raw_out = io.BytesIO()
        self.most = most
        self.calls = 0
        super().__init__(self.raw_out, encoding="utf-8")

    @property
    def buffer(self) -> ShortWritingStdout:  # type: ignore[override]
        return self

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self.calls += 1
        return self.raw_out.write(bytes(memoryview(data)[: self.most]))

    def flush(self) -> None:
        pass


def test_every_byte_is_written_when_stdout_takes_only_part_of_each_write(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # One write() on Linux takes at most 2 147 479 552 bytes: a record over 2 GiB comes
    # back short. Here every call takes 1000 bytes; nothing may be lost.
    out = ShortWritingStdout(most=1000)
    monkeypatch.setattr("sys.stdout", out)
    writer = BufferedMsgSpecWriter()
    big = "x" * 250_000
    writer.write_message(RecordMessage(stream="s", record={"id": 1, "text": big}))
    writer.write_message(StateMessage(value={"bookmarks": {}}))
    lines = out.raw_out.getvalue().decode().splitlines()
    assert json.loads(lines[0])["record"]["text"] == big
    assert json.loads(lines[1])["type"] == "STATE"
    assert out.calls > 250


def test_a_stdout_that_takes_nothing_fails_the_run_rather_than_cut_a_record(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tap_litmos.writer import ShortWriteError

    monkeypatch.setattr("sys.stdout", ShortWritingStdout(most=0))
    writer = BufferedMsgSpecWriter()
    with pytest.raises(ShortWriteError, match="accepted none of the remaining"):
        writer.write_message(StateMessage(value={"bookmarks": {}}))
