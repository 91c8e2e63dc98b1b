"""Litmos dates: the WCF rule, the other texts Litmos writes, and one canonical UTC form.

The one place that knows what a Litmos date means (docs/litmos-api.md, "Project
decision"): `parse_datetime` reads every form, `format_datetime` writes the form every
record and bookmark carries, `format_since` the form Litmos's ``since`` filters take.
The doctor reads the raw WCF parts (`wcf_parts`) to try the other readings.
"""

from __future__ import annotations

import datetime as dt
import re

from tap_litmos.parsing.values import LitmosValueError, quote

UTC = dt.timezone.utc
#: The instant WCF counts its milliseconds from.
EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)

#: WCF JSON dates: "/Date(1710088200000-0700)/" (the wire escapes the slashes as "\/",
#: which the JSON decoder has already undone).
WCF_DATE = re.compile(r"/Date\((-?\d+)(?:([+-])(\d{2})(\d{2}))?\)/")
# ISO 8601 as Litmos writes it: XML's zone-less .NET round-trip text with up to seven
# fractional digits, or text with "Z" or an offset (+hh:mm or +hhmm).
_ISO_DATE = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})"
    r"(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?"
    r" ?(Z|z|[+-]\d{2}(?::?\d{2})?)?"
)
# US text seen in a few Litmos resources: "12/31/2025 12:00:00 AM".
_US_DATE = re.compile(
    r"(\d{1,2})/(\d{1,2})/(\d{4})(?: (\d{1,2}):(\d{2})(?::(\d{2}))? ?([AaPp][Mm])?)?"
)


def parse_datetime(value: object) -> dt.datetime | None:
    """Return the UTC instant a Litmos date value stands for, or None.

    Litmos is a .NET WCF service that keeps UTC wall-clock values with an unspecified
    kind on US-Pacific servers (see docs/litmos-api.md, "Project decision"):

    - JSON ``/Date(ms+hhmm)/``: ``ms`` is that wall clock read as Pacific time and the
      suffix the Pacific offset, so the wall clock is ``UTC(ms) + offset``, and that
      wall clock *is* the UTC instant;
    - JSON ``/Date(ms)/`` without an offset is already UTC;
    - XML text without a zone is the UTC wall clock; an explicit ``Z`` or offset is
      honoured as written;
    - an empty string (a date never set) is null.

    Raises:
        LitmosValueError: for text that is none of these.

    """
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if not isinstance(value, str):
        msg = f"not a date: {quote(value)}"
        raise LitmosValueError(msg)
    text = value.strip()
    if not text:
        return None
    try:
        if match := WCF_DATE.fullmatch(text):
            return EPOCH + dt.timedelta(milliseconds=_wcf_millis(match))
        if match := _ISO_DATE.fullmatch(text):
            return _from_iso(match)
        if match := _US_DATE.fullmatch(text):
            return _from_us(match)
    except (ValueError, OverflowError) as exc:
        msg = f"not a valid date: {quote(value)} ({exc})"
        raise LitmosValueError(msg) from exc
    msg = f"not a recognised Litmos date: {quote(value)}"
    raise LitmosValueError(msg)


def wcf_parts(raw: object) -> tuple[int, int] | None:
    """(epoch ms, offset in minutes) of a ``/Date(ms±hhmm)/`` value; None for anything else.

    The raw parts, before any reading: the tap's (`parse_datetime`) is ``ms + offset``.
    """
    match = WCF_DATE.fullmatch(raw.strip()) if isinstance(raw, str) else None
    if match is None:
        return None
    millis = int(match[1])
    return millis, (_wcf_millis(match) - millis) // 60_000


def _wcf_millis(match: re.Match[str]) -> int:
    """Epoch milliseconds of the UTC wall clock of a WCF date: UTC(ms) + offset."""
    millis, sign, hours, minutes = match.groups()
    total = int(millis)
    if sign is not None:
        offset = int(hours) * 3_600_000 + int(minutes) * 60_000
        total += offset if sign == "+" else -offset
    return total


def _from_iso(match: re.Match[str]) -> dt.datetime:
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    # .NET writes up to 7 fractional digits; JSON dates carry milliseconds, so the
    # canonical form keeps milliseconds and both formats agree.
    micros = int((fraction or "0")[:6].ljust(6, "0"))
    value = dt.datetime(
        int(year), int(month), int(day),
        int(hour or 0), int(minute or 0), int(second or 0), micros,
        tzinfo=UTC,
    )  # fmt: skip
    if zone and zone not in {"Z", "z"}:
        digits = zone[1:].replace(":", "")
        offset = dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:] or 0))
        value = value - offset if zone[0] == "+" else value + offset
    return value


def _from_us(match: re.Match[str]) -> dt.datetime:
    month, day, year, hour, minute, second, meridiem = match.groups()
    hours = int(hour or 0)
    if meridiem:
        hours = hours % 12 + (12 if meridiem.lower() == "pm" else 0)
    return dt.datetime(
        int(year), int(month), int(day), hours, int(minute or 0), int(second or 0), tzinfo=UTC
    )


def format_datetime(value: dt.datetime) -> str:
    """Render a datetime in the tap's one canonical form: ``2024-03-10T09:30:00.123Z``.

    Fixed width and always UTC, so that comparing two values as strings (which the
    SDK does for bookmarks) gives the same answer as comparing the instants.
    """
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat(timespec="milliseconds") + "Z"


def to_datetime_text(value: object) -> str | None:
    """Convert any Litmos date value to the canonical UTC text, or None."""
    if type(value) is str and value.startswith("/Date("):
        # The hot path (every JSON date), with no datetime object in between.
        match = WCF_DATE.fullmatch(value)
        if match:
            try:
                return _format_epoch_millis(_wcf_millis(match))
            except OverflowError:
                pass  # out of range: parse_datetime below says so
    parsed = parse_datetime(value)
    return None if parsed is None else format_datetime(parsed)


_DAY_TEXT: dict[int, str] = {}  # "2024-03-10" by days since 1970: dates repeat a lot
_CLOCK_TEXT: dict[int, str] = {}  # "09:30:00" by second of the day


def _format_epoch_millis(total: int) -> str:
    """`format_datetime` for epoch milliseconds, several times faster (the hot path)."""
    days, millis = divmod(total, 86_400_000)
    day = _DAY_TEXT.get(days)
    if day is None:
        day = (EPOCH + dt.timedelta(days=days)).date().isoformat()
        if len(_DAY_TEXT) < 200_000:  # noqa: PLR2004 (bounds the memo, ~550 years of days)
            _DAY_TEXT[days] = day
    second, millis = divmod(millis, 1000)
    clock = _CLOCK_TEXT.get(second)
    if clock is None:
        minutes, sec = divmod(second, 60)
        clock = _CLOCK_TEXT[second] = f"{minutes // 60:02d}:{minutes % 60:02d}:{sec:02d}"
    return f"{day}T{clock}.{millis:03d}Z"


def format_since(value: dt.datetime) -> str:
    """Render a ``since`` filter: ``YYYY-MM-DD HH:MM:SS``, UTC wall clock, seconds floored."""
    value = value.astimezone(UTC) if value.tzinfo else value
    return value.strftime("%Y-%m-%d %H:%M:%S")
