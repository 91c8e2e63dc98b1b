"""Pure functions that turn Litmos page bodies and wire values into Singer record values.

Everything Litmos-specific about values lives here, so that JSON and XML pages go
through one set of rules and yield identical records:

- `dates`: the WCF rule (see `parse_datetime`), one canonical UTC output format;
- `values`: integers, decimals and booleans, which XML delivers as text; HTML entities,
  which Litmos leaves inside JSON strings; bounded quoting of a bad value;
- `bodies`: JSON and XML page bodies to raw rows (shape checks, DTD refusal, depth limits);
- `records`: the schema-driven converter from a raw row to a record (nulls: JSON ``null``,
  XML ``i:nil="true"``; an empty date is also null).

Nothing here does I/O, so every rule is unit-tested on its own. Import from this package
(`from tap_litmos.parsing import parse_datetime`); the modules are its layout.
"""

from __future__ import annotations

from tap_litmos.parsing.bodies import (
    MAX_NESTING,
    XSI_NIL,
    LitmosBodyError,
    LitmosShapeError,
    LitmosTruncatedError,
    XmlElements,
    json_rows,
    xml_parser,
    xml_rows,
)
from tap_litmos.parsing.dates import (
    EPOCH,
    UTC,
    WCF_DATE,
    format_datetime,
    format_since,
    parse_datetime,
    to_datetime_text,
    wcf_parts,
)
from tap_litmos.parsing.records import Converter, nested_rows, record_converter
from tap_litmos.parsing.values import (
    DECIMAL_MAX_EXPONENT,
    INT64_MAX,
    INT64_MIN,
    QUOTE_CHARS,
    LitmosValueError,
    OutOfRange,
    quote,
    to_boolean,
    to_decimal,
    to_integer,
    to_text,
    to_unescaped_text,
    unescape_html,
)

__all__ = [
    "DECIMAL_MAX_EXPONENT",
    "EPOCH",
    "INT64_MAX",
    "INT64_MIN",
    "MAX_NESTING",
    "QUOTE_CHARS",
    "UTC",
    "WCF_DATE",
    "XSI_NIL",
    "Converter",
    "LitmosBodyError",
    "LitmosShapeError",
    "LitmosTruncatedError",
    "LitmosValueError",
    "OutOfRange",
    "XmlElements",
    "format_datetime",
    "format_since",
    "json_rows",
    "nested_rows",
    "parse_datetime",
    "quote",
    "record_converter",
    "to_boolean",
    "to_datetime_text",
    "to_decimal",
    "to_integer",
    "to_text",
    "to_unescaped_text",
    "unescape_html",
    "wcf_parts",
    "xml_parser",
    "xml_rows",
]
