"""Litmos page bodies, JSON or XML, decoded into raw rows (dicts of wire values).

Decoding is strict about the shape (a list of row objects, or a declared wrapper) and
bounded: numbers too large for any target stay text (`OutOfRange`), nesting deeper than
`MAX_NESTING` is refused, and XML with a document type declaration (entities, external
entities, expansion bombs) is refused outright (`xml_parser`). The rows' values are
converted by `tap_litmos.parsing.records`.
"""

from __future__ import annotations

import json
import typing as t
from decimal import Decimal
from xml.parsers import expat

import msgspec

from tap_litmos.parsing.values import (
    DECIMAL_MAX_EXPONENT,
    INT64_MAX,
    INT64_MIN,
    MAX_NUMBER_TEXT,
    OutOfRange,
    quote,
)

if t.TYPE_CHECKING:
    from collections.abc import Collection

#: expat (namespace_separator="}") names the xsi:nil attribute like this.
XSI_NIL = "http://www.w3.org/2001/XMLSchema-instance}nil"
#: Keys of the error objects servers and proxies answer with instead of data.
_ERROR_KEYS = ("Errors", "Error", "Message", "Detail", "ExceptionMessage", "error", "message")
#: The nesting no Litmos answer comes near (the ILT tree is 6 levels deep).
MAX_NESTING = 64


class LitmosBodyError(ValueError):
    """A response body that is not the JSON or XML list Litmos should have sent.

    Asking again gets the same answer, so it fails the run (unlike `LitmosTruncatedError`).
    """


class LitmosTruncatedError(LitmosBodyError):
    """A body that ends before its document does: cut off in transit, worth a retry."""


class LitmosShapeError(LitmosBodyError):
    """A well-formed body of the wrong shape (an object where a list of rows belongs)."""


class XmlElements(list[tuple[str, object]]):
    """The child elements of one XML element, in order: ``[(name, value), ...]``.

    XML cannot tell an object from a list without a schema (one ``<Address>`` with
    child fields, or a ``<Days>`` holding ``<Day>`` rows), so the reader keeps the
    elements and the converter reads them as the schema says.
    """


def _bounded_decimal(text: str) -> Decimal | OutOfRange:
    """A JSON fraction as a Decimal, if it fits a .NET decimal."""
    if len(text) > MAX_NUMBER_TEXT:
        return OutOfRange(text)
    number = Decimal(text)
    if not number.is_finite() or number.adjusted() > DECIMAL_MAX_EXPONENT:
        return OutOfRange(text)
    return number


def _bounded_int(text: str) -> int | OutOfRange:
    if len(text) > MAX_NUMBER_TEXT:
        return OutOfRange(text)
    number = int(text)
    return number if INT64_MIN <= number <= INT64_MAX else OutOfRange(text)


_json_decoder = msgspec.json.Decoder(float_hook=_bounded_decimal)


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


def _describe_object(data: dict[t.Any, object]) -> str:
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


def xml_parser() -> expat.XMLParserType:
    """An expat parser (namespace separator ``}``) that refuses any DTD or entity.

    Litmos never sends a document type declaration; refusing one outright refuses every
    entity declaration, external entity and expansion bomb with it.
    """
    parser = expat.ParserCreate(namespace_separator="}")
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartDoctypeDeclHandler = _refuse_dtd
    parser.EntityDeclHandler = _refuse_dtd
    parser.ExternalEntityRefHandler = _refuse_dtd
    return parser


def _refuse_dtd(*_args: object) -> t.NoReturn:
    msg = "XML with a document type declaration or entities is refused"
    raise LitmosBodyError(msg)


def xml_rows(body: bytes, *, single_object: bool = False) -> list[dict[str, object]]:
    """Decode an XML page ``<Achievements><Achievement>...</Achievement></Achievements>``.

    Each child element of the root is one row and its child elements are fields:
    ``i:nil="true"`` (or ``nil="true"``) is null, an empty element is ``""``, and a field
    with child elements is `XmlElements`, which the schema-driven converter reads as
    an object, a list of objects or a list of values, as JSON has it. With
    `single_object`, the root element itself is the one row (``GET /users/{id}``).

    Parsed with expat directly (C, and rows built as it goes: several times faster than
    an element tree) and safely (`xml_parser`).
    """
    builder = _XmlRowBuilder(row_depth=1 if single_object else 2)
    parser = xml_parser()
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
        self._open: list[list[t.Any]] = []

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
