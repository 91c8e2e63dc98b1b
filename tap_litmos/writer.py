"""How the tap writes Singer messages: msgspec, with RECORD lines gathered into blocks.

The SDK's msgspec writer writes and flushes stdout for every message: one system call
per record, and with PYTHONUNBUFFERED (common in containers and CI) stdout has no
buffer at all. Here RECORD lines gather in a 64 KiB block, and every other message
(SCHEMA, STATE ...) first writes out the block, then itself, then flushes. So a STATE
always reaches the target after every RECORD it covers; records still in the block
when a run dies were never covered by a STATE, so the next run extracts them again.
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
_SAID_ONCE = frozenset({SingerMessageType.SCHEMA, SingerMessageType.ACTIVATE_VERSION})


class BufferedMsgSpecWriter(MsgSpecWriter):
    """msgspec Singer writer that writes RECORD lines in blocks."""

    def __init__(self) -> None:
        """Start with an empty block."""
        super().__init__()
        self._block = bytearray()
        self._last_said: dict[tuple[str, str], bytes] = {}

    @override
    def write_message(self, message: Message) -> None:
        line = self.format_message(message)
        if message.type in _SAID_ONCE:
            # The SDK repeats a child stream's SCHEMA (and a snapshot child's
            # ACTIVATE_VERSION) for every parent record; one is enough for a target.
            said = (message.type, getattr(message, "stream", ""))
            if self._last_said.get(said) == line:
                return
            self._last_said[said] = line
        self._block += line
        if message.type != SingerMessageType.RECORD or len(self._block) >= BLOCK_BYTES:
            self.flush()

    def flush(self) -> None:
        """Write out the gathered lines and flush stdout."""
        if self._block:
            sys.stdout.buffer.write(self._block)
            self._block.clear()
        sys.stdout.flush()
