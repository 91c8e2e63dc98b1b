"""Conversions between the sandbox's stored values, user input and ground truth.

Stored dates are naive UTC wall clocks with millisecond precision (what Litmos stores,
docs/litmos-api.md "Project decision"); the ground truth gives them as aware UTC datetimes.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

EPOCH = datetime(1970, 1, 1)  # naive: all our wall clocks are naive UTC
_MS = timedelta(milliseconds=1)


def to_ms(wall: datetime) -> int:
    """Milliseconds since the epoch of a naive UTC wall clock."""
    return (wall - EPOCH) // _MS


def from_ms(ms: int) -> datetime:
    """Inverse of :func:`to_ms`."""
    return EPOCH + timedelta(milliseconds=ms)


def parse_iso_wall(text: str) -> datetime:
    """Parse ISO 8601 text to a naive UTC wall clock truncated to milliseconds.

    Zone-less text is taken as UTC; ``Z`` and offsets are honoured.
    """
    text = text.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    # Python 3.10's fromisoformat wants exactly 3 or 6 fractional digits.
    text = re.sub(r"\.(\d{1,6})\d*", lambda m: "." + m.group(1).ljust(6, "0"), text, count=1)
    value = datetime.fromisoformat(text)
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


def ms_dt(ms: int) -> datetime:
    """Naive UTC wall clock from epoch milliseconds."""
    return EPOCH + timedelta(milliseconds=ms)


def wall(value: Any) -> datetime | None:
    """A naive UTC wall clock (ms) from a datetime (aware or naive) or ISO text."""
    if value is None:
        return None
    if isinstance(value, str):
        return parse_iso_wall(value)
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(timezone.utc).replace(tzinfo=None)
        return value.replace(microsecond=value.microsecond // 1000 * 1000)
    msg = f"not a date: {value!r}"
    raise TypeError(msg)


def coerce(kind: str, value: Any) -> Any:
    """A user-supplied value as stored for ``kind``."""
    if value is None:
        return None
    if kind in ("wcf", "isoz", "org"):
        return wall(value)
    if kind == "int":
        return int(value)
    if kind == "bool":
        return bool(value)
    if kind == "dec":
        return Decimal(str(value))
    if kind == "strs":
        return tuple(str(v) for v in value)
    return value


def truth_value(value: Any) -> Any:
    """A stored value as ground truth (aware UTC datetimes)."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=timezone.utc)
    if isinstance(value, tuple):  # a list of texts (kind strs), stored immutable
        return list(value)
    return value
