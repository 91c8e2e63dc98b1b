"""Litmos scalar values other than dates: numbers, booleans, text and HTML entities.

XML delivers every scalar as text and JSON as its own types; both go through these rules
so that they yield identical records. A value that does not convert raises
`LitmosValueError`, whose message quotes it through `quote` (bounded and never slow).
"""

from __future__ import annotations

import contextlib
import html
import typing as t
from decimal import Decimal, InvalidOperation

#: How much of any value Litmos sent a message may quote.
QUOTE_CHARS = 100
#: Integers are 64-bit in every target (bigint) and in .NET; decimals are .NET decimals
#: (below 7.9e28), so a larger number is a bad value, not something to write.
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
DECIMAL_MAX_EXPONENT = 28
#: Longer number text is refused before it is parsed: a million digits take minutes.
MAX_NUMBER_TEXT = 64


class LitmosValueError(ValueError):
    """A value Litmos sent that the tap cannot convert to its schema type."""


def quote(value: object, limit: int = QUOTE_CHARS) -> str:
    """`repr` of a value for a message: at most `limit` characters, shallow, never slow.

    A server's value can be megabytes long or nested 100 000 levels deep; a message
    names it, it does not reproduce it.
    """
    text = _short_repr(value, depth=2, limit=limit)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _short_repr(value: object, *, depth: int, limit: int) -> str:
    if isinstance(value, str):
        text = repr(value[: limit + 1])
    elif isinstance(value, (list, dict)):
        text = _short_collection(value, depth=depth, limit=limit)
    elif isinstance(value, int) and value.bit_length() > 4 * limit:
        # str() of a huge int is slow, or refused (sys.get_int_max_str_digits).
        text = f"<an integer of about {int(value.bit_length() * 0.30103) + 1} digits>"
    else:
        text = repr(value)
    return text[: limit + 1]


def _short_collection(value: list[t.Any] | dict[t.Any, t.Any], *, depth: int, limit: int) -> str:
    """The first few items, `depth` levels down: a message shows the shape, not the data."""
    shown = 5
    if depth == 0 or not value:
        return "{...}" if isinstance(value, dict) else f"[... {len(value)} items]"
    if isinstance(value, dict):
        parts = [
            f"{_short_repr(k, depth=0, limit=20)}: {_short_repr(v, depth=depth - 1, limit=limit)}"
            for k, v in list(value.items())[:shown]
        ]
    else:
        parts = [_short_repr(v, depth=depth - 1, limit=limit) for v in value[:shown]]
    inner = ", ".join(parts) + (", ..." if len(value) > shown else "")
    return f"{{{inner}}}" if isinstance(value, dict) else f"[{inner}]"


class OutOfRange:
    """A JSON number too large for any target: kept as (bounded) text, read as a bad value."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        """Keep at most `MAX_NUMBER_TEXT` characters of the number's text."""
        self.text = text[:MAX_NUMBER_TEXT] + ("…" if len(text) > MAX_NUMBER_TEXT else "")

    def __repr__(self) -> str:  # noqa: D105
        return self.text


def to_integer(value: object) -> int | None:
    """Convert a Litmos integer (JSON number or XML text) to a 64-bit int; empty is null."""
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        value = _number_from_text(text)
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    elif isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value():
        # int() of 1E+100000000 would build a hundred-million-digit number first.
        value = int(value) if value.adjusted() <= 18 else OutOfRange(str(value))  # noqa: PLR2004
    if isinstance(value, int) and not isinstance(value, bool):
        if INT64_MIN <= value <= INT64_MAX:
            return value
        value = OutOfRange(str(value) if value.bit_length() < 4096 else "a huge integer")  # noqa: PLR2004
    what = "a 64-bit integer" if isinstance(value, OutOfRange) else "an integer"
    msg = f"not {what}: {quote(value)}"
    raise LitmosValueError(msg)


def _number_from_text(text: str) -> int | Decimal | OutOfRange:
    """XML number text as an int (or a Decimal such as "4.0"); over-long text is refused."""
    if len(text) > MAX_NUMBER_TEXT:
        return OutOfRange(text)
    try:
        return int(text)
    except ValueError:
        return _decimal_or_fail(text, "an integer")


def to_decimal(value: object) -> Decimal | None:
    """Convert a Litmos decimal (``50.0``, ``"0.00"``) to Decimal; empty is null."""
    if value is None:
        return None
    if isinstance(value, bool):
        msg = f"not a number: {quote(value)}"
        raise LitmosValueError(msg)
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int):
        if not INT64_MIN <= value <= INT64_MAX:
            msg = f"not a number a target can hold: {quote(value)}"
            raise LitmosValueError(msg)
        number = Decimal(value)
    elif isinstance(value, float):
        number = Decimal(str(value))
    elif isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        number = _decimal_or_fail(text, "a number")
    else:
        what = "a number a target can hold" if isinstance(value, OutOfRange) else "a number"
        msg = f"not {what}: {quote(value)}"
        raise LitmosValueError(msg)
    if not number.is_finite() or number.adjusted() > DECIMAL_MAX_EXPONENT:
        msg = f"not a number a target can hold: {quote(value)}"
        raise LitmosValueError(msg)
    return number


def _decimal_or_fail(text: str, what: str) -> Decimal:
    number = None
    if len(text) <= MAX_NUMBER_TEXT:
        with contextlib.suppress(InvalidOperation):
            number = Decimal(text)
    if number is None or not number.is_finite():
        msg = f"not {what}: {quote(text)}"
        raise LitmosValueError(msg)
    return number


_TRUE = frozenset({"true", "1", "yes"})
_FALSE = frozenset({"false", "0", "no"})


def to_boolean(value: object) -> bool | None:
    """Convert a Litmos boolean (JSON true/false or XML "true"/"false") to bool."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int) and value in {0, 1}:
        return bool(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if not text:
            return None
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    msg = f"not a boolean: {quote(value)}"
    raise LitmosValueError(msg)


def to_text(value: object) -> str | None:
    """Return a string value as it is (XML text is already decoded)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (int, Decimal, float)):
        return str(value)
    if isinstance(value, OutOfRange):
        return value.text
    msg = f"not text: {quote(value)}"
    raise LitmosValueError(msg)


def to_unescaped_text(value: object) -> str | None:
    """Return a JSON string with the HTML entities Litmos leaves in it decoded."""
    if isinstance(value, str):
        return unescape_html(value) if "&" in value else value
    return to_text(value)


def unescape_html(text: str) -> str:
    """`html.unescape`, with a fast path for the five entities ASP.NET's HtmlEncode writes."""
    simple = (
        text.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"').replace("&#39;", "'")
    )
    if "&" in simple.replace("&amp;", ""):  # another entity (&eacute;, &#233; ...)
        return html.unescape(text)
    return simple.replace("&amp;", "&")  # last: "&amp;lt;" must stay "&lt;"
