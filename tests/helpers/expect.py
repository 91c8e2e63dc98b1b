"""What the tap must write, built independently of its code: formats, keys, query values.

Expectations come from the sandbox's ground truth (`LitmosSandbox.truth()`), never from
the tap's own code; these helpers only put truth rows in the tap's documented output form.
"""

from __future__ import annotations

import datetime as dt
import decimal
import typing as t

API_KEY = "test-key-3f9a"  # a recognisable value, so tests can prove it never leaks
#: What a `since`/`to` query value looks like (`YYYY-MM-DD HH:MM:SS`, UTC wall clock).
SINCE_FORMAT = "%Y-%m-%d %H:%M:%S"


def canonical(value: dt.datetime | None) -> str | None:
    """The tap's documented output format for a date-time, built independently here."""
    if value is None:
        return None
    value = value.astimezone(dt.timezone.utc)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def expected_record(truth: dict[str, t.Any]) -> dict[str, t.Any]:
    """A sandbox truth row as the tap must emit it."""
    return {k: canonical(v) if isinstance(v, dt.datetime) else v for k, v in truth.items()}


def comparable(row: dict[str, t.Any]) -> dict[str, t.Any]:
    """A truth row as the tap emits it, with decimals as the JSON numbers a target reads.

    The tap writes `Decimal("66.67")` as the JSON number 66.67; parsed back that is the
    float 66.67, which equals `float(Decimal("66.67"))` but not the Decimal itself.
    """
    return {
        k: float(v) if isinstance(v, decimal.Decimal) else v
        for k, v in expected_record(row).items()
    }


def pages_needed(rows: int, page_size: int) -> int:
    """Requests to read `rows` rows by `page_size`: a short page ends the walk, so an
    exact multiple (zero included) costs one more, empty, request."""
    return -(-rows // page_size) + (rows % page_size == 0)


def key_of(record: dict, key: t.Sequence[str]) -> tuple:
    """A record's primary key as a tuple of its values."""
    return tuple(record[k] for k in key)


def parse_utc(text: str) -> dt.datetime:
    """An aware UTC datetime from canonical output text or a `since`/`to` query value."""
    if "T" in text:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(dt.timezone.utc)
    return dt.datetime.strptime(text, SINCE_FORMAT).replace(tzinfo=dt.timezone.utc)


def since_text(value: dt.datetime) -> str:
    """A query value as Litmos takes it: UTC wall clock, whole seconds (floored)."""
    return value.astimezone(dt.timezone.utc).strftime(SINCE_FORMAT)
