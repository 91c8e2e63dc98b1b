"""The Singer writer: RECORD lines in blocks, everything else flushed in order."""

from __future__ import annotations

import io
import json

import pytest
from singer_sdk.singerlib.encoding.simple import RecordMessage, StateMessage

from tap_litmos.writer import BLOCK_BYTES, BufferedMsgSpecWriter


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
