"""The tap's settings: their schema (the public interface) and their validation.

The SDK validates the JSON schema only for a sync and has no format checker, so a
bad `start_date` or `api_url` would reach the first request. `find_problems` checks
everything, with one message per problem that names the setting, and the tap calls
it before any request in every mode (sync, --test and --discover).
"""

from __future__ import annotations

import typing as t
from urllib.parse import urlparse

from singer_sdk import typing as th

from tap_litmos.parsing import LitmosValueError, parse_datetime

if t.TYPE_CHECKING:
    from collections.abc import Mapping

REGION_URLS = {
    "us": "https://api.litmos.com/v1.svc",
    "eu": "https://api.litmoseu.com/v1.svc",
    "au": "https://api.litmos.com.au/v1.svc",
}
MAX_PAGE_SIZE = 1000  # Litmos answers 406 above this (litmos-api.md §4)
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
            " sandbox). Must be http(s)."
        ),
    ),
    th.Property(
        "start_date",
        th.DateTimeType,
        title="Start Date",
        description=(
            "ISO 8601 date or date-time (UTC unless it has an offset): the earliest"
            " AchievementDate to extract on a first run. Empty: the whole history."
        ),
    ),
    th.Property(
        "lookback_days",
        th.IntegerType(minimum=0),
        default=0,
        title="Lookback Days",
        description=(
            "Every incremental run re-reads this many days before the bookmark, to catch"
            " late-arriving completions (never earlier than `start_date`)."
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
        description="Seconds to wait for one HTTP response before retrying it.",
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
            "Retries of one request after a throttle (503/429: waits 60 s), a 5xx, a timeout,"
            " a dropped connection or an unreadable body, before the run fails."
        ),
    ),
).to_dict()


def base_url(config: Mapping[str, t.Any]) -> str:
    """The API root for a validated config: `api_url` if set, else the region's."""
    url = config.get("api_url") or REGION_URLS[config.get("region") or "us"]
    return str(url).rstrip("/")


def find_problems(config: Mapping[str, t.Any]) -> list[str]:
    """Return one message per invalid setting; an empty list means the config is usable.

    Values are never echoed for `api_key`.
    """
    problems: list[str] = []

    def check(name: str, ok: bool, message: str) -> None:  # noqa: FBT001
        if not ok:
            problems.append(f"Setting '{name}': {message}")

    api_key = config.get("api_key")
    check("api_key", isinstance(api_key, str) and bool(api_key.strip()),
          "is required (the Litmos API key, sent as the apikey header)")  # fmt: skip

    source = config.get("source", "tap-litmos")
    check("source", isinstance(source, str) and 0 < len(source.strip()) <= MAX_SOURCE_LENGTH,
          f"must be 1 to {MAX_SOURCE_LENGTH} characters, got {source!r}")  # fmt: skip

    region = config.get("region", "us")
    check("region", region in REGION_URLS,
          f"must be one of {', '.join(REGION_URLS)}, got {region!r}")  # fmt: skip

    api_url = config.get("api_url")
    if api_url is not None:
        parsed = urlparse(api_url) if isinstance(api_url, str) else None
        example = "https://api.litmos.com/v1.svc"
        check("api_url", parsed is not None and parsed.scheme in {"http", "https"}
              and bool(parsed.netloc),
              f"must be an http(s) URL such as {example}, got {api_url!r}")  # fmt: skip

    start_date = config.get("start_date")
    if start_date is not None:
        try:
            ok = isinstance(start_date, str) and parse_datetime(start_date) is not None
        except LitmosValueError:
            ok = False
        check("start_date", ok,
              f"must be an ISO 8601 date or date-time such as 2024-01-31 or"
              f" 2024-01-31T08:00:00Z, got {start_date!r}")  # fmt: skip

    def check_int(name: str, low: int, high: int | None = None) -> None:
        value = config.get(name)
        if value is None:
            return
        in_range = isinstance(value, int) and not isinstance(value, bool) and value >= low
        in_range = in_range and (high is None or value <= high)
        bounds = f"from {low} to {high}" if high is not None else f">= {low}"
        check(name, in_range, f"must be a whole number {bounds}, got {value!r}")

    check_int("page_size", 1, MAX_PAGE_SIZE)
    check_int("lookback_days", 0)
    check_int("max_requests_per_minute", 0)
    check_int("max_retries", 0)

    timeout = config.get("request_timeout")
    if timeout is not None:
        check("request_timeout", isinstance(timeout, (int, float))
              and not isinstance(timeout, bool) and timeout > 0,
              f"must be a number of seconds > 0, got {timeout!r}")  # fmt: skip

    fmt = config.get("response_format", "json")
    check("response_format", fmt in {"json", "xml"}, f"must be json or xml, got {fmt!r}")

    user_ids = config.get("user_ids")
    if user_ids is not None:
        check("user_ids", isinstance(user_ids, list)
              and all(isinstance(u, str) and u.strip() for u in user_ids),
              "must be a list of Litmos user ids (non-empty strings)")  # fmt: skip
    return problems
