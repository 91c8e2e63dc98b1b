"""The tap's settings: their schema (the public interface) and their validation.

The SDK validates the JSON schema only for a sync and has no format checker, so a
bad `start_date` or `api_url` would reach the first request. `find_problems` checks
everything, with one message per problem that names the setting, and the tap calls
it before any request in every mode (sync, --test and --discover). Types, ranges,
lengths and allowed values are read from the schema itself; only what a JSON schema
cannot say (a parseable date, a safe URL, a usable budget backend) is written by hand.
"""

from __future__ import annotations

import ipaddress
import typing as t
from urllib.parse import urlparse

from singer_sdk import typing as th

from tap_litmos.parsing import LitmosValueError, parse_datetime
from tap_litmos.ratelimit import backend_problem

if t.TYPE_CHECKING:
    from collections.abc import Mapping

REGION_URLS = {
    "us": "https://api.litmos.com/v1.svc",
    "eu": "https://api.litmoseu.com/v1.svc",
    "au": "https://api.litmos.com.au/v1.svc",
}
MAX_PAGE_SIZE = 1000  # Litmos answers 406 above this (docs/litmos-api.md §4)
MAX_SOURCE_LENGTH = 50  # documented limit of the `source` parameter (§2)

CONFIG_SCHEMA = th.PropertiesList(
    th.Property(
        "api_key",
        th.StringType,
        required=True,
        secret=True,
        title="API Key",
        description=(
            "Litmos API key of an account owner (Litmos: your name > My Profile & Settings"
            " > API key). Sent as the `apikey` header, never in a URL."
        ),
    ),
    th.Property(
        "source",
        th.StringType(max_length=MAX_SOURCE_LENGTH),
        default="tap-litmos",
        title="Source",
        description=(
            "The `source` query parameter Litmos requires on every call: a free-text name"
            " of the calling app, at most 50 characters."
        ),
    ),
    th.Property(
        "region",
        th.StringType,
        default="us",
        allowed_values=list(REGION_URLS),
        title="Region",
        description=(
            "Litmos data centre: `us` (api.litmos.com), `eu` (api.litmoseu.com) or"
            " `au` (api.litmos.com.au)."
        ),
    ),
    th.Property(
        "api_url",
        th.StringType,
        title="API URL",
        description=(
            "Base URL ending in `/v1.svc`; overrides `region` (a proxy or the local"
            " sandbox). Must be https, except on a loopback host (127.0.0.0/8, ::1,"
            " localhost). The API key is only ever sent to this host: a redirect elsewhere"
            " fails the run."
        ),
    ),
    th.Property(
        "start_date",
        th.DateTimeType,
        title="Start Date",
        description=(
            "ISO 8601 date or date-time (UTC unless it has an offset): where a first run"
            " starts (AchievementDate, UpdatedDate, LoginDate). Empty: achievements from the"
            " beginning, date-window streams from the account's first user CreatedDate."
        ),
    ),
    th.Property(
        "lookback_days",
        th.IntegerType(minimum=0),
        default=0,
        title="Lookback Days",
        description=(
            "Every incremental run re-reads this many days before the bookmark, to catch"
            " late-arriving changes (never earlier than `start_date`)."
        ),
    ),
    th.Property(
        "overlap_minutes",
        th.IntegerType(minimum=0),
        default=10,
        title="Overlap Minutes",
        description=(
            "Every incremental run of the date-window streams and achievements re-reads"
            " this many minutes before the bookmark, so that a change Litmos stamps before it"
            " becomes visible (a late commit) is still read, at no extra request. Re-read"
            " rows arrive again and are merged on the primary key."
        ),
    ),
    th.Property(
        "user_ids",
        th.ArrayType(th.StringType),
        title="User IDs",
        description=(
            "Litmos user ids (the string `Id`). When set, achievements are requested per"
            " user with `userid`; one flat bookmark covers them all."
        ),
    ),
    th.Property(
        "response_format",
        th.StringType,
        default="json",
        allowed_values=["json", "xml"],
        title="Response Format",
        description=(
            "Wire format to request: `json` (default) or `xml`. Both yield identical records."
        ),
    ),
    th.Property(
        "page_size",
        th.IntegerType(minimum=1, maximum=MAX_PAGE_SIZE),
        default=MAX_PAGE_SIZE,
        title="Page Size",
        description=(
            "Rows per request (`limit`), 1 to 1000; 1000 (the API maximum) needs the fewest"
            " requests."
        ),
    ),
    th.Property(
        "request_timeout",
        th.NumberType(exclusive_minimum=0),
        default=300,
        title="Request Timeout",
        description=(
            "Seconds one HTTP response may take, from connecting to the last byte of the"
            " body (redirects included), before it is retried as a timeout."
        ),
    ),
    th.Property(
        "max_response_mb",
        th.NumberType(exclusive_minimum=0),
        default=100,
        title="Max Response MB",
        description=(
            "Largest response body read, in MiB; a larger one fails the run without being"
            " read. A full Litmos page (1000 rows) is far below 10 MB."
        ),
    ),
    th.Property(
        "max_requests_per_minute",
        th.IntegerType(minimum=0),
        default=90,
        title="Max Requests Per Minute",
        description=(
            "Client-side limit on requests in any 60 seconds. Litmos allows 100 per API key;"
            " 90 leaves room for other integrations. 0 disables the limit."
        ),
    ),
    th.Property(
        "max_retries",
        th.IntegerType(minimum=0),
        default=5,
        title="Max Retries",
        description=(
            "Retries of one request after a throttle (503/429: waits Retry-After, else 60 s),"
            " a 5xx, a timeout, a dropped connection or an unreadable body, before the run"
            " fails."
        ),
    ),
    th.Property(
        "rate_limit_backend",
        th.StringType,
        title="Rate Limit Backend",
        description=(
            "Where the `max_requests_per_minute` budget is kept. Empty: in this process only."
            " A file path: shared by every tap process on this machine naming the same file."
            " A `redis://host:port/db` URL: shared by taps on several machines. Budgets are"
            " per API key (stored as a hash of it, never the key)."
        ),
    ),
    th.Property(
        "metrics_log_level",
        th.StringType,
        default="WARNING",
        allowed_values=["DEBUG", "INFO", "WARNING"],
        title="Metrics Log Level",
        description=(
            "Level of the Singer SDK's METRIC log lines (one per request, per stream and"
            " per parent record): `INFO` or `DEBUG` shows them, `WARNING` (default) hides"
            " them. The tap's plan, progress and summary lines say the same in a few lines."
        ),
    ),
).to_dict()


#: Every setting's default, as the schema declares it: the one place a default is written.
DEFAULTS: dict[str, t.Any] = {
    name: prop["default"] for name, prop in CONFIG_SCHEMA["properties"].items() if "default" in prop
}


def value(config: Mapping[str, t.Any], name: str) -> t.Any:
    """A setting's value: the config's, or the schema's default when unset (absent or null).

    The name must be a setting of the schema: a typo fails here, not as a silent None.
    """
    if name not in CONFIG_SCHEMA["properties"]:
        msg = f"{name!r} is not a tap-litmos setting"
        raise KeyError(msg)
    given = config.get(name)
    return DEFAULTS.get(name) if given is None else given


def base_url(config: Mapping[str, t.Any]) -> str:
    """The API root for a validated config: `api_url` if set, else the region's."""
    url = config.get("api_url") or REGION_URLS[value(config, "region") or "us"]
    return str(url).rstrip("/")


def is_loopback_host(host: str | None) -> bool:
    """True for 127.0.0.0/8, ::1 and localhost: hosts that never leave this machine."""
    if not host:
        return False
    if host.lower() in {"localhost", "localhost."}:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def find_problems(config: Mapping[str, t.Any]) -> list[str]:
    """Return one message per invalid setting; an empty list means the config is usable.

    Values are never echoed for secret settings (`api_key`).
    """
    problems = [
        f"Setting '{name}': {message}"
        for name, prop in CONFIG_SCHEMA["properties"].items()
        if (message := _schema_problem(name, prop, config))
    ]
    problems += [
        f"Setting '{name}': {message}"
        for name, check in _HAND_CHECKS.items()
        if config.get(name) not in (None, "") and (message := check(config[name]))
    ]
    return problems


def _schema_problem(name: str, prop: Mapping[str, t.Any], config: Mapping[str, t.Any]) -> str:
    """What the JSON schema says is wrong with one setting ("" when nothing is)."""
    value = config.get(name)
    if value == "" and name in _HAND_CHECKS:
        value = None  # an empty optional setting is an unset one (Meltano may pass "")
    if value is None:
        if name in CONFIG_SCHEMA.get("required", []):
            return _REQUIRED_HINTS.get(name, "is required")
        return ""
    shown = "" if prop.get("secret") else f", got {value!r}"
    types = prop.get("type", [])
    types = [types] if isinstance(types, str) else types
    if "integer" in types or "number" in types:
        return _number_problem(prop, value, whole="integer" in types, shown=shown)
    if "array" in types:
        item_types = prop.get("items", {}).get("type", [])
        ok = (
            isinstance(value, list) and all(isinstance(v, str) and v.strip() for v in value)
            if "string" in item_types
            else isinstance(value, list)
        )
        return "" if ok else "must be a list of non-empty strings (Litmos ids)" + shown
    if "string" in types:
        return _string_problem(name, prop, value, shown)
    return ""


def _string_problem(name: str, prop: Mapping[str, t.Any], value: object, shown: str) -> str:
    if not isinstance(value, str) or not value.strip():
        return _REQUIRED_HINTS.get(name, "must be a non-empty string" + shown)
    if (enum := prop.get("enum")) and value not in enum:
        return f"must be one of {', '.join(enum)}{shown}"
    if (longest := prop.get("maxLength")) and len(value) > longest:
        return f"must be 1 to {longest} characters{shown}"
    return ""


def _number_problem(prop: Mapping[str, t.Any], value: object, *, whole: bool, shown: str) -> str:
    low, high = prop.get("minimum"), prop.get("maximum")
    above = prop.get("exclusiveMinimum")
    kinds = (int,) if whole else (int, float)
    ok = isinstance(value, kinds) and not isinstance(value, bool)
    ok = ok and (low is None or value >= low) and (high is None or value <= high)
    ok = ok and (above is None or value > above)
    if ok:
        return ""
    if above is not None:
        bounds = f"> {above}"
    elif high is not None:
        bounds = f"from {low} to {high}"
    else:
        bounds = f">= {low}"
    what = "a whole number" if whole else "a number"
    return f"must be {what} {bounds}{shown}"


def _api_url_problem(value: object) -> str:
    example = "https://api.litmos.com/v1.svc"
    parsed = urlparse(value) if isinstance(value, str) else None
    if parsed is None or parsed.scheme not in {"http", "https"} or not parsed.hostname:
        return f"must be an https URL such as {example}, got {value!r}"
    if parsed.scheme == "http" and not is_loopback_host(parsed.hostname):
        return (
            f"must use https (the API key would travel in clear text to {parsed.hostname});"
            " plain http is allowed only for a loopback host such as 127.0.0.1"
        )
    if parsed.username or parsed.password:
        return "must not carry a user name or password"
    return ""


def _start_date_problem(value: object) -> str:
    try:
        ok = isinstance(value, str) and parse_datetime(value) is not None
    except LitmosValueError:
        ok = False
    if ok:
        return ""
    return (
        "must be an ISO 8601 date or date-time such as 2024-01-31 or"
        f" 2024-01-31T08:00:00Z, got {value!r}"
    )


_REQUIRED_HINTS = {"api_key": "is required (the Litmos API key, sent as the apikey header)"}
# What the schema cannot say, by setting.
_HAND_CHECKS: dict[str, t.Callable[[object], str]] = {
    "api_url": _api_url_problem,
    "start_date": _start_date_problem,
    "rate_limit_backend": lambda value: backend_problem(value) or "",
}
