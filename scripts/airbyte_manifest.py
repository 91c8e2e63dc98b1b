# ruff: noqa: E501  (the Jinja macros are templates, one statement a line)
"""The declarative manifest of the Litmos Airbyte source, made from the stream classes.

`python3 scripts/regenerate.py` writes `airbyte/manifest-only/manifest.yaml` from what this
returns (`manifest_text`); `--check` names it when it drifts. Nothing here describes a
stream: names, paths, keys, replication keys, schemas and access patterns are read from
`tap_litmos.streams.STREAM_TYPES`, the settings' descriptions and defaults from
`tap_litmos.settings.CONFIG_SCHEMA`. What this adds is how each access pattern is said in
airbyte-cdk's declarative language, JSON only and with no custom component, so that an
Airbyte Cloud workspace can import the file (docs/airbyte.md, "The manifest"):

- every row is rebuilt whole by one Jinja template (`row_template`): dates by the tap's
  WCF rule into its canonical UTC text, HTML and numeric (Latin-1) entities decoded,
  integers, numbers and booleans as their JSON types, text kept as text; a value that
  fits none of that fails the sync (the template raises), never a silent null;
- a page that is not a JSON list (an error envelope, an HTML page, an empty or cut-off
  body) fails the sync: it is never read as rows or as an empty snapshot;
- date windows are the tap's: 7 days less 2 seconds each, asked one second wider on both
  sides (`since` - 1 s, `to` = `since` + 7 days), each keeping only its own rows;
- the cursor is client-side: no row dated after the read's start is emitted, so the
  cursor never moves past it; `lookback_days` and `overlap_minutes` are its lookback;
- 429 and 503 (Litmos's throttle) and 5xx wait Retry-After, else 60 s; a budget of
  `max_requests_per_minute` (90) per process.

Streams a manifest cannot express are left out, each with its reason (`LEFT_OUT`).
"""

from __future__ import annotations

import json
import typing as t

import yaml

from tap_litmos import settings
from tap_litmos.patterns import DateWindowStream, DescendingSinceStream, FanOutStream
from tap_litmos.streams import STREAM_TYPES

if t.TYPE_CHECKING:
    from tap_litmos.client import LitmosStream

#: airbyte-cdk's declarative schema version the manifest is written for (and tested with).
CDK_VERSION = "7.39.1"
#: Streams a manifest cannot express, with the reason (docs/airbyte.md names them).
LEFT_OUT = {
    "ilt_sessions": (
        "Litmos answers a tree (course > module > session > day); a manifest's extractor can"
        " reach the sessions but cannot carry each one's course and module ids down to it"
    ),
    "ilt_session_days": (
        "its rows are the days nested in ilt_sessions' answer, keyed by their session's id,"
        " which a manifest's extractor cannot carry down"
    ),
}
#: The settings the manifest reads, in the order of its form. `start_date` is required:
#: a manifest cannot find the account's first day as the tap does when it is unset.
SETTINGS = (
    "api_key",
    "region",
    "api_url",
    "start_date",
    "source",
    "lookback_days",
    "overlap_minutes",
    "page_size",
    "max_requests_per_minute",
)
#: Litmos's numeric entities (.NET Framework's HtmlEncode): the apostrophe and U+00A0..U+00FF.
NUMERIC_ENTITIES = (39, *range(160, 256))
#: Every wait before a retry when Litmos sends no Retry-After (its throttle never does).
RETRY_WAIT_SECONDS = 60
MAX_RETRIES = int(settings.DEFAULTS["max_retries"])
#: The canonical date form of every record and cursor (tap_litmos.parsing.format_datetime).
CANONICAL = "%Y-%m-%dT%H:%M:%S.%_msZ"
#: `since` and `to` as Litmos takes them (tap_litmos.parsing.format_since).
SINCE = "%Y-%m-%d %H:%M:%S"


def replication_key(stream: type[LitmosStream]) -> str | None:
    """A stream class's replication key (the SDK's is a property on the base)."""
    key = getattr(stream, "replication_key", None)
    return key if isinstance(key, str) else None


def manifest_streams() -> list[type[LitmosStream]]:
    """The default streams the manifest carries, in the tap's order."""
    return [
        s
        for s in STREAM_TYPES
        if s.selected_by_default and not issubclass(s, FanOutStream) and s.name not in LEFT_OUT
    ]


# --- the row template ----------------------------------------------------------------------


#: Jinja macros, each writing one value as a Python literal (the CDK reads the rendered row
#: with `ast.literal_eval`). A value none of them can read calls `format_datetime` with a
#: format it cannot match, which raises with the value and the reason in its message: the
#: sync fails, as a typed destination would on that value.
def _entity_macros() -> str:
    """Macros decoding Litmos's entities, `&amp;` last ("&amp;lt;" stays "&lt;").

    Chunks of ten `.replace` calls each: one chain of a hundred nests too deep for Python.
    """
    numeric = [f".replace('&#{n};', '%c' | format({n}))" for n in NUMERIC_ENTITIES]
    named = [".replace('&lt;', '<')", ".replace('&gt;', '>')", ".replace('&quot;', '\"')"]
    calls = [*numeric, *named, ".replace('&amp;', '&')"]
    chunks = [calls[i : i + 10] for i in range(0, len(calls), 10)]
    macros = "".join(
        f"{{%- macro entities{i}(s) -%}}{{{{ s{''.join(chunk)} }}}}{{%- endmacro -%}}"
        for i, chunk in enumerate(chunks)
    )
    nested = "s"
    for i in range(len(chunks)):
        nested = f"entities{i}({nested})"
    return macros + f"{{%- macro decoded(s) -%}}{{{{ {nested} }}}}{{%- endmacro -%}}"


#: A WCF date's milliseconds, and its zone when it has one (tap_litmos.parsing.dates.WCF_DATE).
WCF_MILLIS = r"^/Date\((-?[0-9]+)(?:[+-][0-9]{4})?\)/$"
WCF_ZONE = r"^/Date\(-?[0-9]+([+-][0-9]{4})\)/$"

#: Jinja macros, each writing one value as a Python literal (the CDK reads the rendered row
#: with `ast.literal_eval`). A value none of them can read calls `format_datetime` with a
#: format it cannot match, which raises with the value and the reason in its message: the
#: sync fails, as a typed destination would on that value. (No `set` inside a macro: the
#: CDK refuses a template whose variables it cannot find in its context.)
MACROS = (
    r"""
{%- macro fail(v, why) -%}{{ format_datetime(v ~ '', '%Y', 'Litmos sent ' ~ why) }}{%- endmacro -%}
ENTITIES{%- macro plain(s) -%}{{ ((decoded(s) ~ '') if '&' in s else s) | pprint }}{%- endmacro -%}
{%- macro text(v) -%}
{%- if v is none -%}None
{%- elif v is string -%}{{ plain(v) }}
{%- elif v is boolean -%}{{ ('true' if v else 'false') | pprint }}
{%- elif v is number -%}{{ (v ~ '') | pprint }}
{%- else -%}{{ fail(v, 'a value that is not text') }}
{%- endif -%}
{%- endmacro -%}
{%- macro text_list(v) -%}
{%- if v is none -%}None
{%- elif v is sequence and v is not string and v is not mapping -%}[{%- for item in v -%}{{ text(item) }}{%- if not loop.last -%},{%- endif -%}{%- endfor -%}]
{%- else -%}{{ fail(v, 'a value that is not a list of texts') }}
{%- endif -%}
{%- endmacro -%}
{%- macro integer(v) -%}
{%- if v is none -%}None
{%- elif v is boolean -%}{{ fail(v, 'a boolean for an integer') }}
{%- elif v is integer and -9223372036854775808 <= v <= 9223372036854775807 -%}{{ v }}
{%- elif v is number and v is not integer and v == (v | int) -%}{{ v | int }}
{%- elif v is string and (v | trim) == '' -%}None
{%- elif v is string and (v | trim | regex_search('^(-?[0-9]{1,18})$')) != '' -%}{{ v | trim | int }}
{%- else -%}{{ fail(v, 'a value that is not a 64-bit integer') }}
{%- endif -%}
{%- endmacro -%}
{%- macro number(v) -%}
{%- if v is none -%}None
{%- elif v is boolean -%}{{ fail(v, 'a boolean for a number') }}
{%- elif v is number -%}{{ v }}
{%- elif v is string and (v | trim) == '' -%}None
{%- elif v is string and (v | trim | regex_search('^(-?[0-9]{1,28}(\.[0-9]{1,28})?)$')) != '' -%}{{ v | trim }}
{%- else -%}{{ fail(v, 'a value that is not a number') }}
{%- endif -%}
{%- endmacro -%}
{%- macro boolean(v) -%}
{%- if v is none -%}None
{%- elif v is boolean -%}{{ v }}
{%- elif v is number and v in [0, 1] -%}{{ v == 1 }}
{%- elif v is string and (v | trim) == '' -%}None
{%- elif v is string and (v | trim | lower) in ['true', '1', 'yes'] -%}True
{%- elif v is string and (v | trim | lower) in ['false', '0', 'no'] -%}False
{%- else -%}{{ fail(v, 'a value that is not a boolean') }}
{%- endif -%}
{%- endmacro -%}
{%- macro millis(total) -%}{{ (format_datetime(total, '%Y-%m-%dT%H:%M:%S', '%ms') ~ '.' ~ ('%03d' | format(total % 1000)) ~ 'Z') | pprint }}{%- endmacro -%}
{%- macro instant(d) -%}{{ (d.strftime('%Y-%m-%dT%H:%M:%S') ~ '.' ~ ('%03d' | format(d.microsecond // 1000)) ~ 'Z') | pprint }}{%- endmacro -%}
{%- macro wall(s, ms, zone) -%}
{%- if ms != '' -%}{{ millis((ms | int) + (0 if zone == '' else (1 if zone[0] == '+' else -1) * ((zone[1:3] | int) * 3600000 + (zone[3:5] | int) * 60000))) }}
{%- else -%}{{ instant(str_to_datetime(s)) }}
{%- endif -%}
{%- endmacro -%}
{%- macro date(v) -%}
{%- if v is none or (v is string and (v | trim) == '') -%}None
{%- elif v is not string -%}{{ fail(v, 'a value that is not a date') }}
{%- else -%}{{ wall(v | trim, v | trim | regex_search('WCF_MILLIS'), v | trim | regex_search('WCF_ZONE')) }}
{%- endif -%}
{%- endmacro -%}
""".strip()
    .replace("ENTITIES", _entity_macros())
    .replace("WCF_MILLIS", WCF_MILLIS)
    .replace("WCF_ZONE", WCF_ZONE)
    .replace("\n", "")
)


def _types(prop: dict[str, t.Any]) -> list[str]:
    """A JSON schema's `type`, as a list."""
    types = prop.get("type", [])
    return [types] if isinstance(types, str) else list(types)


def _kind(prop: dict[str, t.Any]) -> str:
    """The macro that writes a field of this JSON schema."""
    types = _types(prop)
    if "string" in types and prop.get("format") == "date-time":
        return "date"
    for kind in ("integer", "number", "boolean"):
        if kind in types:
            return kind
    if "string" in types:
        return "text"
    if "array" in types and "string" in _types(prop.get("items", {})):
        return "text_list"
    msg = f"no manifest rule for a field of type {types}"
    raise ValueError(msg)


def row_template(schema: dict[str, t.Any]) -> str:
    """One Jinja template that rebuilds a raw Litmos row as the tap's record, whole.

    Every field of the schema, in its order, each written by its macro; a field missing
    from the row is null, as in the tap. Written as one Python literal, read back by the
    CDK, then made the record (`DpathFlattenFields`, `replace_record`): text such as
    `""`, `"42"` or quotes stays text, which field-by-field `AddFields` would re-type.
    """
    fields = ", ".join(
        f"{json.dumps(name)}: {{{{ {_kind(prop)}(record.get({json.dumps(name)})) }}}}"
        for name, prop in schema["properties"].items()
    )
    return MACROS + "{" + fields + "}"


# --- requests -----------------------------------------------------------------------------

URL_BASE = (
    "{{ (config.get('api_url') or "
    + json.dumps(settings.REGION_URLS).replace('"', "'")
    + "[config.get('region') or 'us']).rstrip('/') }}"
)


def _setting(name: str) -> str:
    """A setting as Jinja: the config's value, else the tap's default."""
    return (
        f"config.get('{name}') if config.get('{name}') is not none else {settings.DEFAULTS[name]!r}"
    )


def requester(stream: type[LitmosStream]) -> dict[str, t.Any]:
    """The HTTP requester: the tap's host, path, headers and query (tap_litmos.api)."""
    params: dict[str, str] = {
        "source": "{{ " + _setting("source") + " }}",
        "format": "json",
    }
    if issubclass(stream, DateWindowStream):
        # The tap's widened window: `since` one second before the window, `to` 7 days
        # after `since` (for every window, the last included).
        since = "str_to_datetime(stream_interval.start_time) - duration('PT1S')"
        params["since"] = f"{{{{ format_datetime({since}, '{SINCE}') }}}}"
        params["to"] = f"{{{{ format_datetime({since} + duration('P7D'), '{SINCE}') }}}}"
    elif issubclass(stream, DescendingSinceStream):
        params["since"] = (
            f"{{{{ format_datetime(str_to_datetime(stream_interval.start_time), '{SINCE}') }}}}"
        )
    return {
        "type": "HttpRequester",
        "url_base": URL_BASE,
        "path": stream.path,
        "http_method": "GET",
        "authenticator": {
            "type": "ApiKeyAuthenticator",
            "api_token": "{{ config['api_key'] }}",
            "inject_into": {
                "type": "RequestOption",
                "inject_into": "header",
                "field_name": "apikey",
            },
        },
        "request_headers": {"Accept": "application/json", "Content-Type": "application/json"},
        "request_parameters": params,
        "error_handler": {"$ref": "#/definitions/error_handler"},
    }


ERROR_HANDLER = {
    "type": "DefaultErrorHandler",
    "max_retries": MAX_RETRIES,
    "backoff_strategies": [
        {"type": "WaitTimeFromHeader", "header": "Retry-After"},
        {"type": "ConstantBackoffStrategy", "backoff_time_in_seconds": RETRY_WAIT_SECONDS},
    ],
    # In order: the first filter that matches decides.
    "response_filters": [
        {
            "type": "HttpResponseFilter",
            "http_codes": [429, 500, 502, 503, 504],
            "action": "RETRY",
            "error_message": (
                "Litmos throttled the request or failed (HTTP 429, 5xx): retried after"
                " Retry-After, else 60 s"
            ),
        },
        {
            "type": "HttpResponseFilter",
            "http_codes": [401],
            "action": "FAIL",
            "failure_type": "config_error",
            "error_message": "Litmos rejected the API key (HTTP 401)",
        },
        {
            "type": "HttpResponseFilter",
            "http_codes": [403],
            "action": "FAIL",
            "failure_type": "config_error",
            "error_message": "Litmos refused this endpoint to the API key (HTTP 403)",
        },
        {
            # A 200 that is not a JSON list (an error envelope, an HTML page, an empty or
            # cut-off body: the CDK reads those as {}) fails: never rows, never an empty page.
            "type": "HttpResponseFilter",
            "predicate": (
                "{{ response is mapping or response is string or response is not sequence }}"
            ),
            "action": "FAIL",
            "failure_type": "system_error",
            "error_message": (
                "Litmos answered {{ request_url }} with a page that is not its list of rows"
                " (an error envelope, an HTML page, or an empty or cut-off body)"
            ),
        },
    ],
}


def paginator() -> dict[str, t.Any]:
    """Litmos paging: `start` advances by the rows a page held; a short page ends it."""
    return {
        "type": "DefaultPaginator",
        "pagination_strategy": {
            "type": "OffsetIncrement",
            "page_size": "{{ " + _setting("page_size") + " }}",
            "inject_on_first_request": True,
        },
        "page_size_option": {
            "type": "RequestOption",
            "inject_into": "request_parameter",
            "field_name": "limit",
        },
        "page_token_option": {
            "type": "RequestOption",
            "inject_into": "request_parameter",
            "field_name": "start",
        },
    }


# --- streams ------------------------------------------------------------------------------


def incremental_sync(stream: type[LitmosStream]) -> dict[str, t.Any] | None:
    """The cursor of an incremental stream, client-side; None for a snapshot."""
    key = replication_key(stream)
    if not key:
        return None
    lookback = (
        "P{{ " + _setting("lookback_days") + " }}DT{{ " + _setting("overlap_minutes") + " }}M"
    )
    cursor: dict[str, t.Any] = {
        "type": "DatetimeBasedCursor",
        "cursor_field": key,
        "datetime_format": CANONICAL,
        "cursor_datetime_formats": [CANONICAL],
        "start_datetime": {
            "type": "MinMaxDatetime",
            "datetime": f"{{{{ format_datetime(config['start_date'], '{CANONICAL}') }}}}",
            "datetime_format": CANONICAL,
        },
        "lookback_window": lookback,
        # Rows are kept only up to the read's start: one row dated ahead never moves the
        # cursor past rows that are still to come.
        "is_client_side_incremental": True,
    }
    if issubclass(stream, DateWindowStream):
        full_window = int(stream.FULL_WINDOW.total_seconds())
        days, seconds = divmod(full_window, 86_400)
        hours, seconds = divmod(seconds, 3600)
        minutes, seconds = divmod(seconds, 60)
        cursor["step"] = f"P{days}DT{hours}H{minutes}M{seconds}S"
        cursor["cursor_granularity"] = "PT0.001S"
    return cursor


def record_selector(stream: type[LitmosStream]) -> dict[str, t.Any]:
    """A page's rows (a bare JSON list); a window keeps only the rows of its own window."""
    selector: dict[str, t.Any] = {
        "type": "RecordSelector",
        "extractor": {"type": "DpathExtractor", "field_path": []},
        # The rows are rebuilt (dates in canonical text) before the cursor compares them.
        "transform_before_filtering": True,
    }
    if issubclass(stream, DateWindowStream):
        key = replication_key(stream)
        selector["record_filter"] = {
            "type": "RecordFilter",
            "condition": (
                f"{{{{ record['{key}'] is not none and stream_interval.start_time"
                f" <= record['{key}'] <= stream_interval.end_time }}}}"
            ),
        }
    return selector


def declarative_stream(stream: type[LitmosStream]) -> dict[str, t.Any]:
    """One stream of the manifest."""
    schema = {
        "$schema": "http://json-schema.org/draft-07/schema#",
        **stream.schema,
    }
    out: dict[str, t.Any] = {
        "type": "DeclarativeStream",
        "name": stream.name,
        "primary_key": list(stream.primary_keys or ()),
        "schema_loader": {"type": "InlineSchemaLoader", "schema": schema},
        "retriever": {
            "type": "SimpleRetriever",
            "requester": requester(stream),
            "record_selector": record_selector(stream),
            "paginator": paginator(),
        },
        "transformations": [
            {
                "type": "AddFields",
                "fields": [
                    {
                        "type": "AddedFieldDefinition",
                        "path": ["_litmos_row"],
                        "value": row_template(stream.schema),
                    }
                ],
            },
            {
                "type": "DpathFlattenFields",
                "field_path": ["_litmos_row"],
                "delete_origin_value": True,
                "replace_record": True,
            },
        ],
    }
    cursor = incremental_sync(stream)
    if cursor:
        out["incremental_sync"] = cursor
    return out


def connection_specification() -> dict[str, t.Any]:
    """The form: the tap's settings the manifest reads, as the tap describes them."""
    props = {}
    for order, name in enumerate(SETTINGS):
        prop = {
            k: v
            for k, v in settings.CONFIG_SCHEMA["properties"][name].items()
            if k in {"type", "title", "description", "default", "enum", "minimum", "maximum"}
            or k in {"maxLength", "format", "airbyte_secret"}
        }
        if name == "api_key":
            prop["airbyte_secret"] = True
        if name == "start_date":
            prop["description"] = (
                "ISO 8601 date or date-time (UTC unless it has an offset): where the first"
                " sync of the incremental streams starts (AchievementDate, UpdatedDate,"
                " LoginDate)."
            )
        if name == "max_requests_per_minute":
            prop["description"] = (
                "Requests in any 60 seconds, counted in this process only (Litmos allows 100"
                " per API key; 90 leaves room for other integrations). 0: no limit."
            )
        prop["order"] = order
        props[name] = prop
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "type": "object",
        "required": ["api_key", "start_date"],
        "additionalProperties": True,
        "properties": props,
    }


def manifest() -> dict[str, t.Any]:
    """The whole manifest."""
    streams = manifest_streams()
    budget_limit = (
        "{{ config.get('max_requests_per_minute') or 1000000 "
        "if config.get('max_requests_per_minute') is not none else "
        f"{settings.DEFAULTS['max_requests_per_minute']} }}}}"
    )
    return {
        "version": CDK_VERSION,
        "type": "DeclarativeSource",
        "description": (
            "SAP Litmos LMS: users, teams, courses, learning paths, results, assignments,"
            " logins and achievements. Generated from tap-litmos's stream classes by"
            " `python3 scripts/regenerate.py`: never edit by hand."
        ),
        "check": {"type": "CheckStream", "stream_names": ["teams"]},
        "definitions": {"error_handler": ERROR_HANDLER},
        "streams": [declarative_stream(s) for s in streams],
        "api_budget": {
            "type": "HTTPAPIBudget",
            "policies": [
                {
                    "type": "MovingWindowCallRatePolicy",
                    "rates": [{"limit": budget_limit, "interval": "PT1M"}],
                    "matchers": [],
                }
            ],
        },
        "spec": {
            "type": "Spec",
            "documentation_url": "https://docs.airbyte.com/integrations/sources/litmos",
            "connection_specification": connection_specification(),
        },
    }


def streams_table() -> str:
    """The rows of the doc page's streams table (airbyte/manifest-only/litmos.md)."""
    rows = []
    for stream in manifest_streams():
        keys = ", ".join(f"`{k}`" for k in stream.primary_keys or ())
        cursor = replication_key(stream)
        rows.append(
            f"| `{stream.name}` | `GET {stream.path}` | {keys} | "
            + (f"`{cursor}`" if cursor else "(full refresh only)")
            + " |"
        )
    return "\n".join(rows)


HEADER = """\
# The Litmos source as an airbyte-cdk declarative manifest (manifest-only connector).
# Generated from tap-litmos's stream classes by `python3 scripts/regenerate.py`
# (scripts/airbyte_manifest.py): never edit by hand. docs/airbyte.md says what it can and
# cannot do; streams left out: {left_out}.
"""


class _Dumper(yaml.SafeDumper):
    """Block style; long Jinja templates on one line; no anchors."""

    def ignore_aliases(self, data: t.Any) -> bool:  # noqa: ARG002
        return True


def manifest_text() -> str:
    """The text of airbyte/manifest-only/manifest.yaml."""
    body = yaml.dump(
        manifest(),
        Dumper=_Dumper,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        width=1_000_000,
    )
    return HEADER.format(left_out=", ".join(LEFT_OUT)) + body
