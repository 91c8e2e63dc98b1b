"""The one base stream: everything every Litmos endpoint has in common.

Host and region, the `apikey` header, the `source` and `format` parameters, offset
paging, the request budget, retries, error messages, JSON/XML dispatch, value
conversion and the incremental rules for Litmos's `since` filters live here, so a
stream declares only its name, path, keys, schema and its own parameters.
"""

from __future__ import annotations

import datetime as dt
import functools
import html
import re
import typing as t
from http import HTTPStatus

import backoff
import requests
from singer_sdk.authenticators import APIKeyAuthenticator
from singer_sdk.exceptions import FatalAPIError, RetriableAPIError
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.pagination import OffsetPaginator
from singer_sdk.streams import RESTStream

from tap_litmos import settings
from tap_litmos.parsing import (
    LitmosBodyError,
    LitmosValueError,
    format_datetime,
    format_since,
    json_rows,
    parse_datetime,
    record_converter,
    to_datetime_text,
    xml_rows,
)

if t.TYPE_CHECKING:
    from collections.abc import Callable, Generator, Iterable, Mapping

    from singer_sdk.helpers.types import Context, Record

try:
    from typing import override  # type: ignore[attr-defined]
except ImportError:  # Python < 3.12
    from typing_extensions import override

# Litmos signals "over 100 requests a minute" with 503 and no Retry-After (§7); the
# window is a minute, so retrying sooner only burns another request.
THROTTLE_STATUSES = frozenset({HTTPStatus.SERVICE_UNAVAILABLE, HTTPStatus.TOO_MANY_REQUESTS})
THROTTLE_WAIT_SECONDS = 60.0
# Other transient failures (WCF 500 pages, 504s, drops) back off 2, 4, 8 ... seconds.
RETRY_BASE_SECONDS = 2.0
RETRY_MAX_SECONDS = 60.0

_PAGE_ROWS_ATTR = "litmos_rows"
_TAGS = re.compile(r"<[^>]+>|<!--.*?-->", re.DOTALL)


class LitmosAPIError(FatalAPIError):
    """Litmos refused a request for a reason a retry cannot fix (bad key, parameter ...)."""


def error_summary(response: requests.Response, limit: int = 200) -> str:
    """One line from an error response: the reason phrase and the body's text, no markup.

    WCF puts the message in the status description and often an HTML page in the body.
    """
    text = response.text if response.content else ""
    text = html.unescape(_TAGS.sub(" ", text))
    text = " ".join(text.split())
    reason = (response.reason or "").strip()
    parts = [p for p in (reason, text) if p]
    if len(parts) == 2 and parts[1].startswith(parts[0]):  # noqa: PLR2004
        parts = parts[1:]
    summary = ": ".join(parts) or "no message"
    return summary if len(summary) <= limit else summary[: limit - 1] + "…"


class LitmosPaginator(OffsetPaginator):
    """Litmos paging: `start` is an offset and `limit` the page size.

    Litmos sometimes returns more rows than `limit` (litmos-api.md §4), so `start`
    advances by the rows the page actually held, and only a page shorter than
    `limit` ends the walk: no extra request for an empty page. A stream whose rows
    come newest first may also stop once a page reaches rows older than it needs.
    """

    def __init__(
        self,
        page_size: int,
        page_rows: Callable[[requests.Response], list[dict]],
        reached_end: Callable[[list[dict]], bool] | None = None,
    ) -> None:
        """Page by `page_size`; `page_rows` gives a response's rows (parsed once)."""
        super().__init__(start_value=0, page_size=page_size)
        self._page_rows = page_rows
        self._reached_end = reached_end

    @override
    def has_more(self, response: requests.Response) -> bool:
        rows = self._page_rows(response)
        if len(rows) < self.page_size:
            return False
        return not (self._reached_end and self._reached_end(rows))

    @override
    def get_next(self, response: requests.Response) -> int | None:
        return self.current_value + len(self._page_rows(response))


class LitmosStream(RESTStream[int]):
    """A Litmos list endpoint under `/v1.svc`."""

    # Records are built with exact types by `record_converter`, so the SDK's
    # recursive type conformance (half of its per-record cost) has nothing to do.
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE

    #: Query parameter that filters on the replication key on the server, if any.
    since_param: t.ClassVar[str | None] = None
    #: True when the endpoint returns rows newest first (Litmos /achievements):
    #: paging then stops at the first page that reaches rows older than the cutoff.
    newest_first: t.ClassVar[bool] = False
    # One flat bookmark per stream, never one per partition or parent record: the
    # state stays small and a run interrupted half-way simply starts over.
    state_partitioning_keys: t.ClassVar[list[str]] = []  # type: ignore[misc]

    # --- Connection -----------------------------------------------------------------

    @property
    @override
    def url_base(self) -> str:
        return settings.base_url(self.config)

    @functools.cached_property
    @override
    def authenticator(self) -> APIKeyAuthenticator:
        # The key travels in the `apikey` header only: never in a URL, a log or a message.
        return APIKeyAuthenticator(key="apikey", value=self.config["api_key"], location="header")

    @property
    @override
    def timeout(self) -> float:  # type: ignore[override]
        return float(self.config.get("request_timeout", 300))

    @property
    def response_format(self) -> str:
        """`json` or `xml`: what every request of this run asks Litmos for."""
        return str(self.config.get("response_format", "json"))

    @property
    def page_size(self) -> int:
        """Rows per request (Litmos `limit`)."""
        return int(self.config.get("page_size", settings.MAX_PAGE_SIZE))

    @property
    @override
    def http_headers(self) -> dict[str, str]:
        # Litmos's old docs ask for a content type on every request (§3.1).
        accept = "application/json" if self.response_format == "json" else "application/xml"
        return {"Accept": accept, "Content-Type": accept}

    @override
    def get_url_params(self, context: Context | None, next_page_token: int | None) -> dict:
        params: dict[str, t.Any] = {
            "source": self.config.get("source", "tap-litmos"),
            "start": next_page_token or 0,
            "limit": self.page_size,
        }
        if self.response_format == "json":
            params["format"] = "json"
        if self.since_param and (cutoff := self.starting_cutoff):
            params[self.since_param] = format_since(cutoff)
        return params

    @override
    def get_new_paginator(self) -> LitmosPaginator:
        return LitmosPaginator(
            self.page_size,
            self.page_rows,
            self._page_is_past_cutoff if self.newest_first else None,
        )

    # --- Requests: budget, retries, errors ----------------------------------------------

    @override
    def request_decorator(self, func: Callable) -> Callable:
        limiter = self._tap.rate_limiter  # type: ignore[attr-defined]

        def send_request(*args: t.Any, **kwargs: t.Any) -> requests.Response:
            limiter.acquire()  # every attempt, retries included, takes a slot
            return func(*args, **kwargs)

        return backoff.on_exception(
            self._retry_waits,
            (
                RetriableAPIError,
                ConnectionResetError,
                requests.exceptions.Timeout,
                requests.exceptions.ConnectionError,
                requests.exceptions.ChunkedEncodingError,
                requests.exceptions.ContentDecodingError,
            ),
            max_tries=self.backoff_max_tries,
            on_backoff=self.backoff_handler,
            jitter=None,
            logger=self.logger,
        )(send_request)

    def _retry_waits(self) -> Generator[float, BaseException | None, None]:
        """Wait before retry n: 60 s after a throttle, else 2, 4, 8 ... s (max 60)."""
        failure = yield 0.0  # backoff primes the generator, then sends each failure
        attempt = 0
        while True:
            attempt += 1
            response = getattr(failure, "response", None)
            if response is not None and response.status_code in THROTTLE_STATUSES:
                wait = THROTTLE_WAIT_SECONDS
            else:
                wait = min(RETRY_BASE_SECONDS * 2 ** (attempt - 1), RETRY_MAX_SECONDS)
            failure = yield wait

    @override
    def backoff_max_tries(self) -> int:
        return int(self.config.get("max_retries", 5)) + 1

    @override
    def backoff_handler(self, details: t.Any) -> None:
        self.logger.warning(
            "Retrying %s in %.0f s (attempt %d of %d): %s",
            self.name,
            details["wait"],
            details["tries"] + 1,
            self.backoff_max_tries(),
            details.get("exception"),
        )

    @override
    def validate_response(self, response: requests.Response) -> None:
        status = response.status_code
        if status in THROTTLE_STATUSES:
            msg = f"Litmos throttled the request (HTTP {status}, over 100 requests a minute)"
            raise RetriableAPIError(msg, response)
        if status >= HTTPStatus.INTERNAL_SERVER_ERROR:
            msg = f"Litmos server error (HTTP {status}): {error_summary(response)}"
            raise RetriableAPIError(msg, response)
        if status == HTTPStatus.UNAUTHORIZED:
            msg = (
                "Litmos rejected the API key (HTTP 401): check the api_key setting and that"
                " the account has API access"
            )
            raise LitmosAPIError(msg)
        if status >= HTTPStatus.BAD_REQUEST:
            msg = f"Litmos refused {self.path} (HTTP {status}): {error_summary(response)}"
            raise LitmosAPIError(msg)
        try:
            self.page_rows(response)
        except LitmosBodyError as exc:
            # A truncated or mangled body is a transient fault: ask again.
            msg = f"Litmos sent an unreadable {self.response_format.upper()} body: {exc}"
            raise RetriableAPIError(msg, response) from exc

    # --- Parsing -----------------------------------------------------------------

    def page_rows(self, response: requests.Response) -> list[dict]:
        """The raw rows of one page, parsed once and kept on the response."""
        rows = getattr(response, _PAGE_ROWS_ATTR, None)
        if rows is None:
            body = response.content
            content_type = response.headers.get("Content-Type", "")
            if content_type.startswith("text/html"):
                msg = f"expected {self.response_format.upper()}, got an HTML page"
                raise LitmosBodyError(msg)
            rows = json_rows(body) if self.response_format == "json" else xml_rows(body)
            setattr(response, _PAGE_ROWS_ATTR, rows)
            if rows:
                self._warn_unknown_fields(rows[0])
        return rows

    @override
    def parse_response(self, response: requests.Response) -> Iterable[dict]:
        return self.page_rows(response)

    @functools.cached_property
    def _convert(self) -> Callable[[Mapping[str, object]], dict]:
        # JSON strings carry HTML entities (&amp;, &#39;); XML text is already plain.
        return record_converter(self.schema, unescape_html=self.response_format == "json")

    @functools.cached_property
    def _unknown_fields_seen(self) -> set[str]:
        return set()

    def _warn_unknown_fields(self, row: Mapping[str, object]) -> None:
        new = row.keys() - self.schema["properties"].keys() - self._unknown_fields_seen
        if new:
            self._unknown_fields_seen.update(new)
            self.logger.warning(
                "Litmos sent fields that %s's schema does not have (not extracted): %s",
                self.name,
                ", ".join(sorted(new)),
            )

    @override
    def generate_child_contexts(
        self, record: Record, context: Context | None
    ) -> Iterable[Context | None]:
        # Per record, the SDK copies the context for child streams; most streams have none.
        if self.child_streams:
            yield from super().generate_child_contexts(record, context)

    @override
    def post_process(self, row: Record, context: Context | None = None) -> Record | None:
        try:
            record = self._convert(row)
        except LitmosValueError as exc:
            keys = {k: row.get(k) for k in self.primary_keys or []}
            msg = f"Cannot read a {self.name} record {keys}: {exc}"
            raise LitmosAPIError(msg) from exc
        if cutoff := self._cutoff_text:
            value = record.get(self.replication_key)
            if value is not None and value < cutoff:  # canonical text compares as time
                return None
        return record

    # --- Incremental -------------------------------------------------------------

    @functools.cached_property
    def starting_cutoff(self) -> dt.datetime | None:
        """The earliest replication-key value this run extracts.

        The bookmark minus `lookback_days`, never before `start_date`; on a first run,
        `start_date`; with neither, None (everything). The bookmark only moves when
        the stream has finished, so the value holds for the whole run.
        """
        if not self.replication_key:
            return None
        state = self.stream_state
        bookmark = None
        if state.get("replication_key") == self.replication_key:
            bookmark = parse_datetime(state.get("replication_key_value"))
        start = parse_datetime(self.config.get("start_date"))
        if bookmark is None:
            return start
        cutoff = bookmark - dt.timedelta(days=int(self.config.get("lookback_days") or 0))
        return max(cutoff, start) if start else cutoff

    @functools.cached_property
    def _cutoff_text(self) -> str | None:
        return format_datetime(self.starting_cutoff) if self.starting_cutoff else None

    def _page_is_past_cutoff(self, rows: list[dict]) -> bool:
        # The same comparison post_process makes, on the page's last (oldest) row.
        cutoff = self._cutoff_text
        if not cutoff:
            return False
        oldest = to_datetime_text(rows[-1].get(self.replication_key))
        return oldest is not None and oldest < cutoff

    @override
    def compare_start_date(self, value: str, start_date_value: str) -> str:
        later = max(parse_datetime(value), parse_datetime(start_date_value))  # type: ignore[type-var]
        return format_datetime(later)  # type: ignore[arg-type]

    @override
    def get_replication_key_signpost(self, context: Context | None = None) -> str | None:
        # The SDK caps an unsorted stream's bookmark at the run's start time and
        # compares the two as strings, so the signpost must be in our canonical form.
        if not self.replication_key:
            return None
        return self._signpost

    @functools.cached_property
    def _signpost(self) -> str:
        return format_datetime(dt.datetime.now(dt.timezone.utc))
