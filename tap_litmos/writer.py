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
import time
import typing as t

from singer_sdk.contrib.msgspec import MsgSpecWriter
from singer_sdk.singerlib.encoding.base import SingerMessageType

from tap_litmos.redaction import redact_bytes

if t.TYPE_CHECKING:
    from collections.abc import Callable

    from singer_sdk.singerlib.encoding.simple import Message

if sys.version_info >= (3, 12):
    from typing import override
else:  # Python < 3.12
    from typing_extensions import override

BLOCK_BYTES = 64 * 1024
#: Messages the SDK repeats for a child stream on every parent record; one is enough.
_ONCE_PER_STREAM = frozenset({SingerMessageType.SCHEMA, SingerMessageType.ACTIVATE_VERSION})


class BufferedMsgSpecWriter(MsgSpecWriter):
    """msgspec Singer writer that writes RECORD lines in blocks."""

    def __init__(self) -> None:
        """Start with an empty block."""
        super().__init__()
        self._block = bytearray()
        self._last_said: dict[tuple[str, str], bytes] = {}
        self._held_versions: list[bytes] = []
        #: Hold ACTIVATE_VERSION until `activate_held_versions` (RECORD runs), or send it
        #: where the SDK does (BATCH runs).
        self.hold_versions = True
        #: True while a block goes out: a signal's handler must not write into it.
        self._writing = False
        self._after_write: Callable[[], None] | None = None

    @override
    def write_message(self, message: Message) -> None:
        line = self.format_message(message)
        if message.type in _ONCE_PER_STREAM:
            said = (message.type, message.stream)  # type: ignore[attr-defined]  # SCHEMA and ACTIVATE_VERSION have one
            if self._last_said.get(said) == line:  # type: ignore[comparison-overlap]  # bytes == bytearray compares contents
                return
            # format_message reuses one buffer for every message: a line kept is a copy.
            self._last_said[said] = bytes(line)
            if message.type == SingerMessageType.ACTIVATE_VERSION and self.hold_versions:
                self._held_versions.append(bytes(line))
                return
        self._block += line
        if message.type != SingerMessageType.RECORD or len(self._block) >= BLOCK_BYTES:
            self.flush()

    def activate_held_versions(self) -> None:
        """Send the held ACTIVATE_VERSION messages, after every record they cover."""
        if self._held_versions:
            self._block += b"".join(self._held_versions)
            self._held_versions.clear()
            self.flush()

    def flush(self) -> None:
        """Write out the gathered lines (redacted) and flush stdout."""
        if self._block:
            self._writing = True
            try:
                write_all(sys.stdout.buffer, redact_bytes(self._block))
                self._block.clear()
            finally:
                self._writing = False
        sys.stdout.flush()
        if self._after_write is not None:
            action, self._after_write = self._after_write, None
            action()

    def defer_while_writing(self, action: Callable[[], None]) -> bool:
        """Run `action` once the block being written is out (True), or say none is (False).

        For a signal's handler: the SDK's writes a STATE, which must neither land inside
        a block half written to a slow target nor grow the block while it goes out.
        """
        if not self._writing:
            return False
        self._after_write = action
        return True


class ShortWriteError(OSError):
    """stdout took none of the bytes offered: the output would be cut off."""


def write_all(out: t.BinaryIO, data: bytes | bytearray) -> None:
    """Write every byte of `data` to `out`, or raise.

    With PYTHONUNBUFFERED, `sys.stdout.buffer` is the raw file, whose `write` may take
    only part of what it is given (one write() tops out just below 2 GiB on Linux); a
    writer that ignored the count would cut a record off and exit 0.
    """
    view = memoryview(data)
    while view:
        written = out.write(view)
        if written is None:  # a non-blocking raw file that would block: wait, then retry
            time.sleep(0.01)
            continue
        if written <= 0:
            msg = f"stdout accepted none of the remaining {len(view)} bytes"
            raise ShortWriteError(msg)
        view = view[written:]
