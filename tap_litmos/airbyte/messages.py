"""The Airbyte message writer: the tap's Singer messages as Airbyte lines on stdout.

`TapLitmos` writes through this writer exactly as it writes through its Singer one
(`tap_litmos/writer.py`); what changes is the line each message becomes:

- RECORD: `{"type":"RECORD","record":{"stream","data","emitted_at"}}`. `emitted_at` on
  every record: PyAirbyte silently drops a record without it, then saves the STATE
  after it, and those rows are lost for good.
- STATE: the tap's state is one object for all streams; Airbyte keeps one state per
  stream. Each time the tap writes its state, every stream whose bookmark moved since
  its last STATE gets a STREAM state of its own. Never LEGACY or GLOBAL: PyAirbyte
  accepts them and never stores them, so every read would silently be a full read.
  The SDK's per-run keys (progress markers, signpost) stay out: a bookmark is all a
  later run resumes from.
- SCHEMA and ACTIVATE_VERSION: dropped. Schemas travel in the catalog; a snapshot's
  deletions reach Airbyte through a full refresh that replaces the table.
- BATCH: refused (`source-litmos` refuses `batch_config` before any request).
- LOG and TRACE: written by the log handler and the command line.

RECORD lines gather in a block (as in the Singer writer); any other line first writes
out the block, then itself, so a STATE always follows every RECORD it covers. Every
block passes the redaction (`redaction.redact_bytes`) and is written in full
(`writer.write_all`), or the run fails.
"""

from __future__ import annotations

import collections
import logging
import os
import signal
import sys
import threading
import time
import typing as t

import msgspec
from singer_sdk.contrib.msgspec import enc_hook
from singer_sdk.singerlib.encoding.base import GenericSingerWriter, SingerMessageType

from tap_litmos.redaction import redact, redact_bytes
from tap_litmos.writer import BLOCK_BYTES, write_all

if t.TYPE_CHECKING:
    from collections.abc import Mapping

    from singer_sdk.singerlib.encoding.simple import Message

if sys.version_info >= (3, 12):
    from typing import override
else:  # Python < 3.12
    from typing_extensions import override

#: What the SDK keeps in a stream's state for the current run only.
RUN_ONLY_STATE_KEYS = frozenset(
    {"progress_markers", "replication_key_signpost", "starting_replication_value"}
)
#: Python log levels as Airbyte names them, highest first (a level between two takes the
#: lower one's name).
LOG_LEVELS = (
    (logging.CRITICAL, "FATAL"),
    (logging.ERROR, "ERROR"),
    (logging.WARNING, "WARN"),
    (logging.INFO, "INFO"),
    (logging.DEBUG, "DEBUG"),
)


class BatchNotSupportedError(Exception):
    """The tap tried to send a BATCH message, which Airbyte has no equivalent for."""


class Stopped(Exception):  # noqa: N818 (a request, not an error of ours)
    """The process was asked to stop (SIGTERM, SIGINT) in the middle of a command."""

    def __init__(self, signum: int) -> None:
        """Remember which signal."""
        super().__init__(f"source-litmos was stopped by {signal.Signals(signum).name}")
        self.signum = signum


def now_ms() -> int:
    """Milliseconds since the epoch: Airbyte's `emitted_at`."""
    return time.time_ns() // 1_000_000


def bookmark_of(stream_state: Mapping[str, t.Any]) -> dict[str, t.Any]:
    """A stream's state without the SDK's per-run keys: what a later run resumes from."""
    return {k: v for k, v in stream_state.items() if k not in RUN_ONLY_STATE_KEYS}


class AirbyteWriter(GenericSingerWriter[bytes, "Message"]):
    """Writes the tap's messages, its logs and the command's answers as Airbyte lines."""

    def __init__(self, out: t.BinaryIO | None = None) -> None:
        """Write to `out` (default: this process's stdout)."""
        super().__init__()
        self._out = out
        self._block = bytearray()
        # Log lines may come from any thread; records and states from the tap's one.
        self._lock = threading.RLock()
        self._encoder = msgspec.json.Encoder(enc_hook=enc_hook, decimal_format="number")
        #: The bookmark each stream last went out with (or came in with).
        self._bookmarks: dict[str, dict[str, t.Any]] = {}
        #: RECORDs of each stream since its last STATE (Airbyte's `sourceStats`).
        self._records_since_state: collections.Counter[str] = collections.Counter()
        #: `check` reads one record to prove the connection; Airbyte wants only the status.
        self.discard_data = False
        #: Set by TapLitmos.sync_all; ACTIVATE_VERSION is dropped whatever its value.
        self.hold_versions = False
        self.records_written = 0
        self._writing = False
        self._stop_signal: int | None = None
        #: The command's one answer (SPEC, CATALOG, CONNECTION_STATUS) is out.
        self.answered = False

    # --- The tap's messages --------------------------------------------------------------

    @override
    def serialize_message(self, message: Message) -> bytes:
        return self._encoder.encode(message.to_dict()) + b"\n"

    @override
    def write_message(self, message: Message) -> None:
        kind = message.type
        if kind == SingerMessageType.RECORD:
            if not self.discard_data:
                self._write_record(message.stream, message.record)  # type: ignore[attr-defined]  # a RecordMessage
        elif kind == SingerMessageType.STATE:
            if not self.discard_data:
                self._write_states(message.value)  # type: ignore[attr-defined]  # a StateMessage
        elif kind == SingerMessageType.BATCH:
            msg = "BATCH messages have no Airbyte equivalent"
            raise BatchNotSupportedError(msg)
        # SCHEMA, ACTIVATE_VERSION: no Airbyte equivalent (module docstring).

    def _write_record(self, stream: str, data: Mapping[str, t.Any]) -> None:
        message = {
            "type": "RECORD",
            "record": {"stream": stream, "data": data, "emitted_at": now_ms()},
        }
        with self._lock:
            self._encoder.encode_into(message, self._block, -1)
            self._block += b"\n"
            self._records_since_state[stream] += 1
            self.records_written += 1
            if len(self._block) >= BLOCK_BYTES:
                self.flush()

    def start_from(self, singer_state: Mapping[str, t.Any]) -> None:
        """The bookmarks this read starts from: a STATE goes out only when one moves."""
        for stream, stream_state in (singer_state.get("bookmarks") or {}).items():
            self._bookmarks[stream] = bookmark_of(stream_state)

    def _write_states(self, singer_state: Mapping[str, t.Any]) -> None:
        with self._lock:
            for stream, stream_state in (singer_state.get("bookmarks") or {}).items():
                bookmark = bookmark_of(stream_state)
                if not bookmark or bookmark == self._bookmarks.get(stream):
                    continue
                self._bookmarks[stream] = bookmark
                self._append(
                    {
                        "type": "STATE",
                        "state": {
                            "type": "STREAM",
                            "stream": {
                                "stream_descriptor": {"name": stream},
                                "stream_state": bookmark,
                            },
                            "sourceStats": {
                                "recordCount": float(self._records_since_state.pop(stream, 0))
                            },
                        },
                    }
                )
            self.flush()

    def activate_held_versions(self) -> None:
        """Nothing to release: ACTIVATE_VERSION is never sent to Airbyte."""

    # --- Lines of the command itself ---------------------------------------------------

    def write(self, message: Mapping[str, t.Any]) -> None:
        """Write one message (SPEC, CATALOG, CONNECTION_STATUS ...) after any records."""
        with self._lock:
            self._append(message)
            self.flush()

    def answer(self, message: Mapping[str, t.Any]) -> None:
        """Write the command's answer: after it, the command has nothing left to say."""
        self.write(message)
        self.answered = True

    def log(self, level: str, text: str, stack_trace: str | None = None) -> None:
        """A LOG message."""
        log: dict[str, t.Any] = {"level": level, "message": redact(text)}
        if stack_trace:
            log["stack_trace"] = redact(stack_trace)
        self.write({"type": "LOG", "log": log})

    def trace_error(self, text: str, failure_type: str, *, stack_trace: str | None = None) -> None:
        """A TRACE ERROR: why the command failed, for Airbyte to show and classify."""
        error: dict[str, t.Any] = {"message": redact(text), "failure_type": failure_type}
        if stack_trace:
            error["stack_trace"] = redact(stack_trace)
        self.write(
            {"type": "TRACE", "trace": {"type": "ERROR", "emitted_at": now_ms(), "error": error}}
        )

    def _append(self, message: Mapping[str, t.Any]) -> None:
        self._encoder.encode_into(message, self._block, -1)
        self._block += b"\n"

    def flush(self) -> None:
        """Write out the gathered lines (redacted) and flush."""
        with self._lock:
            out = self._out or sys.stdout.buffer
            self._writing = True
            try:
                if self._block:
                    write_all(out, redact_bytes(self._block))
                    self._block.clear()
                out.flush()
            finally:
                self._writing = False
            if self._stop_signal is not None:
                signum, self._stop_signal = self._stop_signal, None
                raise Stopped(signum)

    def stop(self, signum: int) -> None:
        """Stop the command (from a signal handler), now or once the lines being written are out.

        Never in the middle of a write: no line is cut in two, no block goes out twice.
        Once the answer is out there is nothing to fail: PyAirbyte stops `check` and
        `discover` with SIGTERM as soon as it has read their answer.
        """
        if self.answered:
            os._exit(0)
        if self._writing:
            self._stop_signal = signum
            return
        raise Stopped(signum)


class AirbyteLogHandler(logging.Handler):
    """Every log record of the process as a LOG message on stdout.

    During a read Airbyte (and PyAirbyte) discard a source's stderr: a log line that
    went there would be lost, the reason for a failure with it.
    """

    def __init__(self, writer: AirbyteWriter) -> None:
        """Send log records to `writer`."""
        super().__init__()
        self._writer = writer
        self.setFormatter(logging.Formatter("%(name)s: %(message)s"))

    @override
    def emit(self, record: logging.LogRecord) -> None:
        try:
            level = next((name for no, name in LOG_LEVELS if record.levelno >= no), "TRACE")
            self._writer.log(level, self.format(record))
        except Exception:  # noqa: BLE001 (logging must never break the run)
            self.handleError(record)
