"""How the tap writes Singer messages: msgspec, with RECORD lines gathered into blocks.

The SDK's msgspec writer writes and flushes stdout for every message: one system call
per record, and with PYTHONUNBUFFERED (common in containers and CI) stdout has no
buffer at all. Here RECORD lines gather in a 64 KiB block, and every other message
(SCHEMA, STATE ...) first writes out the block, then itself, then flushes. So a STATE
always reaches the target after every RECORD it covers; records still in the block
when a run dies were never covered by a STATE, so the next run extracts them again.

ACTIVATE_VERSION is held back until the stream that sent it (with its children) has been
read in full (`activate_held_versions`, called by the stream). The SDK sends it before a
snapshot's records, and a target with `hard_delete` then deletes every row of the older
version at once: the table would be empty, then partial, for the whole read, and stay
partial if the run died. Sent after the records, it deletes only the rows that Litmos no
longer has; a run that dies sends none, and the table keeps the previous copy plus
whatever this run upserted.

Not with BATCH messages (`hold_versions` off): a batch file's rows reach the target
without a version, and a version activated after them would delete them all.
"""

from __future__ import annotations

import sys
import typing as t

from singer_sdk.contrib.msgspec import MsgSpecWriter
from singer_sdk.singerlib.encoding.base import SingerMessageType

if t.TYPE_CHECKING:
    from singer_sdk.singerlib.encoding.simple import Message

try:
    from typing import override  # type: ignore[attr-defined]
except ImportError:  # Python < 3.12
    from typing_extensions import override

BLOCK_BYTES = 64 * 1024


class BufferedMsgSpecWriter(MsgSpecWriter):
    """msgspec Singer writer that writes RECORD lines in blocks."""

    def __init__(self) -> None:
        """Start with an empty block."""
        super().__init__()
        self._block = bytearray()
        self._last_schema: dict[str, bytes] = {}
        self._last_version: dict[str, bytes] = {}
        self._held_versions: dict[str, bytes] = {}
        #: Hold ACTIVATE_VERSION until `activate_held_versions` (RECORD runs), or send it
        #: where the SDK does (BATCH runs).
        self.hold_versions = True

    @override
    def write_message(self, message: Message) -> None:
        # format_message reuses one buffer for every message: a line kept must be a copy.
        line = self.format_message(message)
        if message.type == SingerMessageType.ACTIVATE_VERSION:
            # The SDK sends a snapshot child's one for every parent record: one is enough.
            stream = message.stream  # type: ignore[attr-defined]
            if self.hold_versions:
                self._held_versions[stream] = bytes(line)
                return
            if self._last_version.get(stream) == line:
                return
            self._last_version[stream] = bytes(line)
        if message.type == SingerMessageType.SCHEMA:
            # The SDK repeats a child stream's SCHEMA for every parent record; one is
            # enough for a target.
            stream = message.stream  # type: ignore[attr-defined]
            if self._last_schema.get(stream) == line:
                return
            self._last_schema[stream] = bytes(line)
        self._write(message.type, line)

    def activate_held_versions(self) -> None:
        """Send the held ACTIVATE_VERSION messages, after every record they cover."""
        for line in self._held_versions.values():
            self._write(SingerMessageType.ACTIVATE_VERSION, line)
        self._held_versions.clear()

    def _write(self, message_type: str, line: bytes) -> None:
        self._block += line
        if message_type != SingerMessageType.RECORD or len(self._block) >= BLOCK_BYTES:
            self.flush()

    def flush(self) -> None:
        """Write out the gathered lines and flush stdout."""
        if self._block:
            sys.stdout.buffer.write(self._block)
            self._block.clear()
        sys.stdout.flush()
