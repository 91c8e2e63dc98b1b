"""The schema-driven record converter: one raw Litmos row (JSON or XML) to one Singer record.

The stream's JSON schema decides each field's rule (`tap_litmos.parsing.values` and
`tap_litmos.parsing.dates`), so JSON and XML rows yield identical records. Null is JSON
``null``, XML ``i:nil="true"``, or an empty date.
"""

from __future__ import annotations

import functools
import typing as t
from decimal import Decimal

from tap_litmos.parsing.bodies import XmlElements
from tap_litmos.parsing.dates import to_datetime_text
from tap_litmos.parsing.values import (
    INT64_MAX,
    INT64_MIN,
    LitmosValueError,
    quote,
    to_boolean,
    to_decimal,
    to_integer,
    to_text,
    to_unescaped_text,
)

if t.TYPE_CHECKING:
    from collections.abc import Callable, Collection, Mapping

    #: Called as (row, field, raw value) for a value that does not convert.
    BadValueHandler = Callable[[Mapping[str, object], str, object], None]

Converter = t.Callable[[object], object]
#: One field's plan: (name, the value class that passes unchanged, converter).
_Plan = tuple[str, type, Converter]


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


def nested_rows(value: object) -> list[dict[str, object]]:
    """The rows of a nested collection, from JSON (a list) or XML (`XmlElements`).

    For endpoints that answer a tree (ILT sessions: course > module > session > day),
    whose inner rows become records of their own. Null or empty is no rows.
    """
    if isinstance(value, XmlElements):
        rows = [dict(v) if isinstance(v, XmlElements) else v for _, v in value]
        return t.cast("list[dict[str, object]]", rows)
    if isinstance(value, list):
        return value
    return []


def _convert_object(fields: Callable[[Mapping[str, object]], object], value: object) -> object:
    if value is None or value == "":
        return None
    if isinstance(value, XmlElements):
        value = dict(value)
    if not isinstance(value, dict):
        msg = f"not an object: {quote(value)}"
        raise LitmosValueError(msg)
    return fields(value)


def _convert_array(item: Converter, value: object) -> list[object] | None:
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
    plans: list[_Plan] = [
        (name, *_field_plan(prop, unescape_html=unescape_html))
        for name, prop in schema.get("properties", {}).items()
    ]

    convert_field_by_field = functools.partial(
        _convert_field_by_field, plans, strict=strict, on_bad_value=on_bad_value
    )

    def convert(row: Mapping[str, object]) -> dict[str, object]:
        if row is None:
            # A missing row (a null in a nested list) stays null, whatever the signature.
            return None
        get = row.get
        record: dict[str, object] = {}
        try:
            for name, keep, conv in plans:
                value = get(name)
                if value is None or value.__class__ is keep:
                    record[name] = value
                elif keep is _NeedsUnescape and type(value) is str and "&" not in value:
                    record[name] = value  # a JSON string with no entity to decode
                elif keep is _Int64 and type(value) is int and INT64_MIN <= value <= INT64_MAX:
                    record[name] = value
                else:
                    record[name] = conv(value)
        except LitmosValueError:
            return convert_field_by_field(row)
        return record

    return convert


def _convert_field_by_field(
    plans: list[_Plan],
    row: Mapping[str, object],
    *,
    strict: Collection[str],
    on_bad_value: BadValueHandler | None,
) -> dict[str, object]:
    """The slow path, taken only by a row with a bad value: name it, null it if allowed."""
    record: dict[str, object] = {}
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
