"""How the tap writes Singer messages: msgspec, flushed at every message but RECORD.

The SDK's msgspec writer flushes stdout after every message, one system call per
record. Flushing before every SCHEMA, STATE or other message keeps the order that
matters: a STATE reaches the target only after every RECORD it covers. Records
still in the buffer when a run dies were never covered by a STATE, so the next run
extracts them again; nothing is lost.
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


class BufferedMsgSpecWriter(MsgSpecWriter):
    """msgspec Singer writer that lets RECORD lines share stdout's buffer."""

    @override
    def write_message(self, message: Message) -> None:
        sys.stdout.buffer.write(self.format_message(message))
        if message.type != SingerMessageType.RECORD:
            sys.stdout.flush()
