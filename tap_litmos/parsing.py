"""Pure functions that turn Litmos wire values into Singer record values.

Everything Litmos-specific about values lives here, so that JSON and XML pages go
through one set of rules and yield identical records:

- dates: the WCF rule (see `parse_datetime`), one canonical UTC output format;
- integers, decimals and booleans, which XML delivers as text;
- HTML entities, which Litmos leaves inside JSON strings;
- nulls: JSON ``null``, XML ``i:nil="true"``; an empty date is also null.

Nothing here does I/O, so every rule is unit-tested on its own.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import html
import json
import re
import typing as t
from decimal import Decimal, InvalidOperation
from xml.parsers import expat

import msgspec

if t.TYPE_CHECKING:
    from collections.abc import Callable, Collection, Mapping

    #: Called as (row, field, raw value) for a value that does not convert.
    BadValueHandler = Callable[[Mapping[str, object], str, object], None]

UTC = dt.timezone.utc
_EPOCH = dt.datetime(1970, 1, 1)  # noqa: DTZ001 (naive: arithmetic on UTC wall clocks)

# WCF JSON dates: "/Date(1710088200000-0700)/" (the wire escapes the slashes as "\/",
# which the JSON decoder has already undone).
_WCF_DATE = re.compile(r"/Date\((-?\d+)(?:([+-])(\d{2})(\d{2}))?\)/")
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

# expat (namespace_separator="}") names the xsi:nil attribute like this.
XSI_NIL = "http://www.w3.org/2001/XMLSchema-instance}nil"

#: How much of any value Litmos sent a message may quote.
QUOTE_CHARS = 100
#: Integers are 64-bit in every target (bigint) and in .NET; decimals are .NET decimals
#: (below 7.9e28), so a larger number is a bad value, not something to write.
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
DECIMAL_MAX_EXPONENT = 28
# Longer number text is refused before it is parsed: a million digits take minutes.
_MAX_NUMBER_TEXT = 64


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


def _short_collection(value: list | dict, *, depth: int, limit: int) -> str:
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
        """Keep at most `_MAX_NUMBER_TEXT` characters of the number's text."""
        self.text = text[:_MAX_NUMBER_TEXT] + ("…" if len(text) > _MAX_NUMBER_TEXT else "")

    def __repr__(self) -> str:  # noqa: D105
        return self.text


def _bounded_decimal(text: str) -> Decimal | OutOfRange:
    """A JSON fraction as a Decimal, if it fits a .NET decimal."""
    if len(text) > _MAX_NUMBER_TEXT:
        return OutOfRange(text)
    number = Decimal(text)
    if not number.is_finite() or number.adjusted() > DECIMAL_MAX_EXPONENT:
        return OutOfRange(text)
    return number


def _bounded_int(text: str) -> int | OutOfRange:
    if len(text) > _MAX_NUMBER_TEXT:
        return OutOfRange(text)
    number = int(text)
    return number if INT64_MIN <= number <= INT64_MAX else OutOfRange(text)


_json_decoder = msgspec.json.Decoder(float_hook=_bounded_decimal)


# ---------------------------------------------------------------------------
# Dates


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
        if match := _WCF_DATE.fullmatch(text):
            return _from_wcf(match).replace(tzinfo=UTC)
        if match := _ISO_DATE.fullmatch(text):
            return _from_iso(match)
        if match := _US_DATE.fullmatch(text):
            return _from_us(match)
    except (ValueError, OverflowError) as exc:
        msg = f"not a valid date: {quote(value)} ({exc})"
        raise LitmosValueError(msg) from exc
    msg = f"not a recognised Litmos date: {quote(value)}"
    raise LitmosValueError(msg)


def _wcf_millis(match: re.Match[str]) -> int:
    """Epoch milliseconds of the UTC wall clock of a WCF date: UTC(ms) + offset."""
    millis, sign, hours, minutes = match.groups()
    total = int(millis)
    if sign is not None:
        offset = int(hours) * 3_600_000 + int(minutes) * 60_000
        total += offset if sign == "+" else -offset
    return total


def _from_wcf(match: re.Match[str]) -> dt.datetime:
    return _EPOCH + dt.timedelta(milliseconds=_wcf_millis(match))


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
    if value.__class__ is str and value.startswith("/Date("):  # type: ignore[attr-defined]
        # The hot path (every JSON date), with no datetime object in between.
        match = _WCF_DATE.fullmatch(value)  # type: ignore[arg-type]
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
        day = (_EPOCH + dt.timedelta(days=days)).date().isoformat()
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


# ---------------------------------------------------------------------------
# Other scalars


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
    if len(text) > _MAX_NUMBER_TEXT:
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
    if len(text) <= _MAX_NUMBER_TEXT:
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


# ---------------------------------------------------------------------------
# Records

Converter = t.Callable[[object], object]


class _NoValue:
    """Plan marker: no wire value passes unchanged; always convert."""


class _NeedsUnescape:
    """Plan marker: a JSON string field, kept as is unless it holds an entity."""


class _Int64:
    """Plan marker: an integer field, kept as is when it fits 64 bits."""


def _field_plan(  # noqa: PLR0911 (one return per JSON type)
    prop: Mapping[str, t.Any], *, unescape_html: bool
) -> tuple[type, Converter]:
    """How one field is converted: (the value class that passes unchanged, converter)."""
    types = prop.get("type", [])
    types = [types] if isinstance(types, str) else list(types)
    if "string" in types and prop.get("format") == "date-time":
        return _NoValue, to_datetime_text
    if "integer" in types:
        return _Int64, to_integer
    if "number" in types:
        return Decimal, to_decimal
    if "boolean" in types:
        return bool, to_boolean
    if "array" in types:
        _, item = _field_plan(prop.get("items", {}), unescape_html=unescape_html)
        return _NoValue, functools.partial(_convert_array, item)
    if "object" in types:
        fields = record_converter(prop, unescape_html=unescape_html)
        return _NoValue, functools.partial(_convert_object, fields)
    if unescape_html:
        return _NeedsUnescape, to_unescaped_text
    return str, to_text


class XmlElements(list):
    """The child elements of one XML element, in order: ``[(name, value), ...]``.

    XML cannot tell an object from a list without a schema (one ``<Address>`` with
    child fields, or a ``<Days>`` holding ``<Day>`` rows), so the reader keeps the
    elements and the converter reads them as the schema says.
    """


def nested_rows(value: object) -> list[dict]:
    """The rows of a nested collection, from JSON (a list) or XML (`XmlElements`).

    For endpoints that answer a tree (ILT sessions: course > module > session > day),
    whose inner rows become records of their own. Null or empty is no rows.
    """
    if isinstance(value, XmlElements):
        return [dict(v) if isinstance(v, XmlElements) else v for _, v in value]
    if isinstance(value, list):
        return value
    return []


def _convert_object(fields: Converter, value: object) -> object:
    if value is None or value == "":
        return None
    if isinstance(value, XmlElements):
        value = dict(value)
    if not isinstance(value, dict):
        msg = f"not an object: {quote(value)}"
        raise LitmosValueError(msg)
    return fields(value)


def _convert_array(item: Converter, value: object) -> list | None:
    if value is None:
        return None
    if value == "":
        return []
    if isinstance(value, XmlElements):
        return [item(v) for _, v in value]
    if not isinstance(value, list):
        msg = f"not a list: {quote(value)}"
        raise LitmosValueError(msg)
    return [item(v) for v in value]


def record_converter(
    schema: Mapping[str, t.Any],
    *,
    unescape_html: bool,
    strict: Collection[str] = (),
    on_bad_value: BadValueHandler | None = None,
) -> Callable[[Mapping[str, object]], dict[str, object]]:
    """Build the function that turns one raw Litmos row into a Singer record.

    The plan for each field is chosen once per schema. Per record, values that
    already have their final type (a JSON integer, a string without entities) pass
    without a call; this runs for every record, so it is written for speed.
    The output has exactly the schema's properties, in schema order; a property the
    row lacks is null.

    Args:
        schema: the stream's JSON schema (an object schema).
        unescape_html: decode HTML entities in strings (JSON pages carry them).
        strict: fields whose bad value must fail the record (keys the state relies on).
        on_bad_value: called as `(row, field, raw value)` for a value that does not
            convert in any other field, which then becomes null. Without it, any bad
            value fails the record.

    Raises:
        LitmosValueError: (from the returned function) naming the field that failed.

    """
    plans = [
        (name, *_field_plan(prop, unescape_html=unescape_html))
        for name, prop in schema.get("properties", {}).items()
    ]

    convert_field_by_field = functools.partial(
        _convert_field_by_field, plans, strict=strict, on_bad_value=on_bad_value
    )

    def convert(row: Mapping[str, object]) -> dict[str, object]:
        if row is None:
            return None  # type: ignore[return-value]
        get = row.get
        record = {}
        try:
            for name, keep, conv in plans:
                value = get(name)
                if value is None or value.__class__ is keep:
                    record[name] = value
                elif keep is _NeedsUnescape and value.__class__ is str and "&" not in value:
                    record[name] = value  # a JSON string with no entity to decode
                elif keep is _Int64 and value.__class__ is int and INT64_MIN <= value <= INT64_MAX:
                    record[name] = value
                else:
                    record[name] = conv(value)
        except LitmosValueError:
            return convert_field_by_field(row)
        return record

    return convert


def _convert_field_by_field(
    plans: list[tuple[str, type, Converter]],
    row: Mapping[str, object],
    *,
    strict: Collection[str],
    on_bad_value: BadValueHandler | None,
) -> dict[str, object]:
    """The slow path, taken only by a row with a bad value: name it, null it if allowed."""
    record = {}
    for name, _, conv in plans:
        raw = row.get(name)
        try:
            record[name] = conv(raw)
        except LitmosValueError as exc:
            if on_bad_value is None or name in strict:
                msg = f"field {name}: {exc}"
                raise LitmosValueError(msg) from exc
            on_bad_value(row, name, raw)
            record[name] = None
    return record


# ---------------------------------------------------------------------------
# Wire formats


class LitmosBodyError(ValueError):
    """A response body that is not the JSON or XML list Litmos should have sent.

    Asking again gets the same answer, so it fails the run (unlike `LitmosTruncatedError`).
    """


class LitmosTruncatedError(LitmosBodyError):
    """A body that ends before its document does: cut off in transit, worth a retry."""


class LitmosShapeError(LitmosBodyError):
    """A well-formed body of the wrong shape (an object where a list of rows belongs)."""


#: Keys of the error objects servers and proxies answer with instead of data.
_ERROR_KEYS = ("Errors", "Error", "Message", "Detail", "ExceptionMessage", "error", "message")
#: The nesting no Litmos answer comes near (the ILT tree is 6 levels deep).
MAX_NESTING = 64


def json_rows(
    body: bytes, *, single_object: bool = False, wrappers: Collection[str] = ()
) -> list[dict[str, object]]:
    """Decode a JSON page: a bare array of objects, or ``{"Name": [...]}`` for a `wrappers` name.

    With `single_object`, the endpoint answers one object (``GET /users/{id}``): it is
    the page's one row. Any other object (an error envelope, say) is refused: read as
    rows, it would become records with every field null.
    """
    data = _decode_json(body)
    if isinstance(data, dict):
        if single_object:
            data = [data]
        elif len(data) == 1 and next(iter(data)) in wrappers:
            (data,) = data.values()  # a wrapper such as {"Achievement": [...]}
        else:
            raise LitmosShapeError(_describe_object(data))
    if not isinstance(data, list):
        msg = f"expected a JSON array of rows, got {type(data).__name__}"
        raise LitmosShapeError(msg)
    if not all(isinstance(row, dict) for row in data):
        msg = "expected every row of the JSON array to be an object"
        raise LitmosShapeError(msg)
    return data


def _decode_json(body: bytes) -> object:
    try:
        return _json_decoder.decode(body)
    except msgspec.ValidationError:
        # An integer beyond 64 bits (msgspec refuses those): decode again, slowly, with
        # such numbers kept as OutOfRange, which become bad values of their fields.
        return _decode_json_slowly(body)
    except msgspec.DecodeError as exc:
        if "truncated" in str(exc):
            msg = f"the JSON body ends too early ({exc})"
            raise LitmosTruncatedError(msg) from exc
        msg = f"invalid JSON ({exc})"
        raise LitmosBodyError(msg) from exc
    except RecursionError as exc:
        msg = "JSON nested too deeply to be a Litmos answer"
        raise LitmosBodyError(msg) from exc
    except UnicodeDecodeError as exc:
        msg = f"the JSON body is not valid UTF-8 (byte {exc.start})"
        raise LitmosBodyError(msg) from exc


def _decode_json_slowly(body: bytes) -> object:
    try:
        return json.loads(
            body,
            parse_float=_bounded_decimal,
            parse_int=_bounded_int,
            parse_constant=OutOfRange,  # NaN, Infinity
        )
    except RecursionError as exc:
        msg = "JSON nested too deeply to be a Litmos answer"
        raise LitmosBodyError(msg) from exc
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        msg = f"invalid JSON ({quote(str(exc))})"
        raise LitmosBodyError(msg) from exc


def _describe_object(data: dict) -> str:
    for key in _ERROR_KEYS:
        if key in data:
            return f"an error instead of rows: {quote(_first_text(data[key]))}"
    keys = ", ".join(quote(k, 40) for k in list(data)[:5])
    return f"a JSON object (keys {keys}) where a list of rows belongs"


def _first_text(value: object) -> object:
    """The first string inside an error value (`[{"Message": "..."}]` -> "...")."""
    for _ in range(MAX_NESTING):
        if isinstance(value, list) and value:
            value = value[0]
        elif isinstance(value, dict) and value:
            value = next((value[k] for k in _ERROR_KEYS if k in value), next(iter(value.values())))
        else:
            break
    return value


def xml_rows(body: bytes, *, single_object: bool = False) -> list[dict[str, object]]:
    """Decode an XML page ``<Achievements><Achievement>...</Achievement></Achievements>``.

    Each child element of the root is one row and its child elements are fields:
    ``i:nil="true"`` (or ``nil="true"``) is null, an empty element is ``""``, and a field
    with child elements is `XmlElements`, which the schema-driven converter reads as
    an object, a list of objects or a list of values, as JSON has it. With
    `single_object`, the root element itself is the one row (``GET /users/{id}``).

    Parsed with expat directly (C, and rows built as it goes: several times faster than
    an element tree) and safely: a document type declaration, and with it any entity
    declaration, external entity or expansion bomb, is refused outright; Litmos never
    sends one.
    """
    builder = _XmlRowBuilder(row_depth=1 if single_object else 2)
    parser = expat.ParserCreate(namespace_separator="}")
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartDoctypeDeclHandler = _refuse_dtd
    parser.EntityDeclHandler = _refuse_dtd
    parser.ExternalEntityRefHandler = _refuse_dtd
    parser.StartElementHandler = builder.start
    parser.EndElementHandler = builder.end
    parser.CharacterDataHandler = builder.text
    parser.buffer_text = True
    try:
        parser.Parse(body, True)  # noqa: FBT003 (isfinal is positional-only)
    except expat.ExpatError as exc:
        if exc.code in _XML_CUT_OFF:
            msg = f"the XML body ends too early ({exc})"
            raise LitmosTruncatedError(msg) from exc
        msg = f"invalid XML ({exc})"
        raise LitmosBodyError(msg) from exc
    return builder.rows


# expat's errors for a document that stops before its end.
_XML_CUT_OFF = frozenset(
    expat.errors.codes[name]
    for name in (
        expat.errors.XML_ERROR_NO_ELEMENTS,
        expat.errors.XML_ERROR_UNCLOSED_TOKEN,
        expat.errors.XML_ERROR_PARTIAL_CHAR,
    )
)


def _refuse_dtd(*_args: object) -> t.NoReturn:
    msg = "XML with a document type declaration or entities is refused"
    raise LitmosBodyError(msg)


class _XmlRowBuilder:
    """Builds rows from expat events.

    The root's children are rows and theirs are fields. A field with child elements
    becomes `XmlElements`, to be read as an object or a list by the schema.
    """

    def __init__(self, row_depth: int = 2) -> None:
        self.rows: list[dict[str, object]] = []
        self._depth = 0
        self._row_depth = row_depth
        # Open elements below the row: [name, is_nil, text parts, child elements or None]
        self._open: list[list] = []

    def start(self, name: str, attrs: dict[str, str]) -> None:
        self._depth += 1
        if self._depth > MAX_NESTING:
            msg = f"XML nested deeper than {MAX_NESTING} levels: not a Litmos answer"
            raise LitmosBodyError(msg)
        if self._depth == self._row_depth:
            self.rows.append({})
        elif self._depth > self._row_depth:
            if self._open and self._open[-1][3] is None:
                self._open[-1][3] = XmlElements()
            is_nil = attrs.get(XSI_NIL) == "true" or attrs.get("nil") == "true"
            self._open.append([name.rpartition("}")[2], is_nil, [], None])

    def text(self, data: str) -> None:
        if self._open:
            self._open[-1][2].append(data)

    def end(self, _name: str) -> None:
        if self._depth > self._row_depth:
            name, is_nil, parts, children = self._open.pop()
            value = None if is_nil else children if children is not None else "".join(parts)
            if self._open:
                self._open[-1][3].append((name, value))
            else:
                self.rows[-1][name] = value
        self._depth -= 1
