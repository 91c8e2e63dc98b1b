"""The Litmos request protocol: how a request is built and what an answer means.

One place says what every call to Litmos carries (docs/litmos-api.md §2 to §4):

- the base URL (`api_url`, else the region's host) and the endpoint's path;
- the `source` query parameter, `format=json` for JSON, and paging by `start`/`limit`;
- the `apikey`, `Accept` and `Content-Type` headers;

and what each answer means, as a typed error: `LitmosError.status` is the HTTP status
(None when the status was fine but the body was not), `retriable` says whether asking
again can help, and `user_config` whether the user's configuration is at fault (a
rejected key, a forbidden endpoint). Code that acts on a failure (the retry loop,
Airbyte's `failure_type`) reads these, never the message text, so a message can be
reworded without changing what happens.

The stream base (`client.py`) builds its requests from `query_params` and
`content_headers`; `request_for` gives the same request as plain values, for a tool
that sends it itself (the doctor).
"""

from __future__ import annotations

import dataclasses
import sys
import typing as t
from http import HTTPStatus

import requests
from singer_sdk.exceptions import FatalAPIError, RetriableAPIError
from singer_sdk.pagination import OffsetPaginator

from tap_litmos import settings
from tap_litmos.parsing import LitmosBodyError, LitmosTruncatedError, json_rows, xml_rows
from tap_litmos.transport import THROTTLE_STATUSES, error_summary, retry_wait

if t.TYPE_CHECKING:
    from collections.abc import Callable, Generator, Mapping

if sys.version_info >= (3, 12):
    from typing import override
else:  # Python < 3.12
    from typing_extensions import override

#: Where a response keeps its parsed rows (each page is parsed once).
_PAGE_ROWS_ATTR = "litmos_rows"
#: A page's raw rows, as the parsers return them.
Rows = list[dict[str, t.Any]]


# --- Building a request ------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class LitmosRequest:
    """One Litmos request as plain values: what `requests` needs to send it."""

    method: str
    url: str
    params: dict[str, t.Any]
    headers: dict[str, str]


def content_headers(response_format: str) -> dict[str, str]:
    """`Accept` and `Content-Type` for `json` or `xml` (Litmos's old docs ask for both, §3.1)."""
    accept = "application/json" if response_format == "json" else "application/xml"
    return {"Accept": accept, "Content-Type": accept}


def key_header(config: Mapping[str, t.Any]) -> dict[str, str]:
    """The `apikey` header: the only place the key travels (never a URL, a log, a message)."""
    return {"apikey": str(config["api_key"])}


def query_params(
    config: Mapping[str, t.Any],
    *,
    start: int = 0,
    limit: int | None = None,
    response_format: str | None = None,
    filters: Mapping[str, t.Any] | None = None,
) -> dict[str, t.Any]:
    """The query of one page: `source`, `start`, `limit`, `format` (JSON only), filters.

    `limit` defaults to the `page_size` setting and `response_format` to the
    `response_format` setting; `filters` are the endpoint's own (`since`, `to` ...).
    """
    fmt = response_format or settings.value(config, "response_format")
    params: dict[str, t.Any] = {
        "source": settings.value(config, "source"),
        "start": start,
        "limit": settings.value(config, "page_size") if limit is None else limit,
    }
    if fmt == "json":
        params["format"] = "json"
    params.update(filters or {})
    return params


def request_for(  # noqa: PLR0913 (each argument is one part of the request)
    config: Mapping[str, t.Any],
    path: str,
    filters: Mapping[str, t.Any] | None = None,
    *,
    start: int = 0,
    limit: int | None = None,
    response_format: str | None = None,
    user_agent: str | None = None,
    base_url: str | None = None,
) -> LitmosRequest:
    """The GET the tap sends for one page of `path` (its `{...}` parts already filled).

    The same query and headers as a stream's request (`query_params`, `content_headers`,
    `key_header`); `user_agent` names the caller, `base_url` overrides the config's host
    (the doctor tries each region).
    """
    fmt = response_format or settings.value(config, "response_format")
    headers = {**content_headers(fmt), **key_header(config)}
    if user_agent:
        headers["User-Agent"] = user_agent
    return LitmosRequest(
        method="GET",
        url=(base_url or settings.base_url(config)).rstrip("/") + path,
        params=query_params(config, start=start, limit=limit, response_format=fmt, filters=filters),
        headers=headers,
    )


class LitmosPaginator(OffsetPaginator):
    """Litmos paging: `start` is an offset and `limit` the page size.

    Litmos sometimes returns more rows than `limit` (docs/litmos-api.md §4), so `start`
    advances by the rows the page actually held, and only a page shorter than
    `limit` ends the walk: no extra request for an empty page. A stream whose rows
    come newest first may also stop once a page reaches rows older than it needs.
    """

    def __init__(
        self,
        page_size: int,
        page_rows: Callable[[requests.Response], Rows],
        reached_end: Callable[[Rows], bool] | None = None,
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
        return int(self.current_value) + len(self._page_rows(response))


# --- Retries -----------------------------------------------------------------------------

#: What is retried: only what can change when asked again. Throttles, 5xx and bodies cut
#: off in transit (`LitmosRetriableError`), timeouts (request_timeout is a deadline for the
#: whole response) and dropped connections. A 4xx, or a page that is not what the endpoint
#: returns, gets the same answer every time and fails the run at once.
RETRIED_FAILURES: tuple[type[Exception], ...] = (
    RetriableAPIError,
    ConnectionResetError,
    requests.exceptions.Timeout,
    requests.exceptions.ConnectionError,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
)


def retry_waits() -> Generator[float, BaseException | None, None]:
    """Wait before retry n: Retry-After or 60 s after a throttle, else 2, 4, 8 ... s.

    A `backoff` wait generator: primed once, then sent each failure.
    """
    failure = yield 0.0
    attempt = 0
    while True:
        attempt += 1
        failure = yield retry_wait(failure, attempt)


# --- What an answer means --------------------------------------------------------------


class LitmosError(Exception):
    """What every Litmos failure says about itself, whatever its message."""

    #: The HTTP status of the answer (None: no status at fault, e.g. an unreadable body).
    status: int | None = None
    #: Whether the same request, sent again, may succeed.
    retriable: t.ClassVar[bool] = False
    #: Whether the user's configuration is at fault (the key, the account's permissions).
    user_config: t.ClassVar[bool] = False


class LitmosAPIError(LitmosError, FatalAPIError):
    """Litmos refused a request for a reason a retry cannot fix (bad key, parameter ...)."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        """`message` is the one line the user reads; `status` the HTTP status, if any."""
        super().__init__(message)
        self.status = status


class LitmosKeyRejectedError(LitmosAPIError):
    """HTTP 401: the API key is wrong, or the account has no API access."""

    user_config = True


class LitmosForbiddenError(LitmosAPIError):
    """HTTP 403: the key may not call this endpoint (permissions, `source`)."""

    user_config = True


class LitmosRetriableError(LitmosError, RetriableAPIError):
    """A throttle, a server error or a body cut off in transit: asking again may work."""

    retriable = True

    def __init__(self, message: str, response: requests.Response) -> None:
        """`response` is the answer (its status, and Retry-After for the wait)."""
        super().__init__(message, response)
        self.status = response.status_code


def status_error(response: requests.Response, path: str) -> LitmosError | None:
    """The error an answer's HTTP status means for `path`; None for a success (2xx)."""
    status = response.status_code
    if status in THROTTLE_STATUSES:
        msg = f"Litmos throttled the request (HTTP {status}, over 100 requests a minute)"
        return LitmosRetriableError(msg, response)
    if status >= HTTPStatus.INTERNAL_SERVER_ERROR:
        msg = f"Litmos server error (HTTP {status}): {error_summary(response)}"
        return LitmosRetriableError(msg, response)
    if status == HTTPStatus.UNAUTHORIZED:
        msg = (
            "Litmos rejected the API key (HTTP 401): check the api_key setting and that"
            " the account has API access"
        )
        return LitmosKeyRejectedError(msg, status=status)
    if status >= HTTPStatus.BAD_REQUEST:
        error = LitmosForbiddenError if status == HTTPStatus.FORBIDDEN else LitmosAPIError
        msg = f"Litmos refused {path} (HTTP {status}): {error_summary(response)}"
        return error(msg, status=status)
    if status >= HTTPStatus.MULTIPLE_CHOICES:  # a redirect requests could not follow
        msg = f"Litmos answered {path} with HTTP {status}: {error_summary(response)}"
        return LitmosAPIError(msg, status=status)
    return None


def body_error(failure: LitmosBodyError, response: requests.Response, path: str) -> LitmosError:
    """The error a page's unreadable body means: retried if it was cut off in transit."""
    if isinstance(failure, LitmosTruncatedError):
        # Cut off in transit: the next answer may be whole.
        msg = f"Litmos sent {path} cut off: {failure}"
        return LitmosRetriableError(msg, response)
    # Not the page the endpoint returns: asking again would get the same.
    msg = f"Litmos answered {path} with something other than its rows: {failure}"
    return LitmosAPIError(msg)


def page_rows(
    response: requests.Response,
    response_format: str,
    *,
    single_object: bool = False,
    wrappers: tuple[str, ...] = (),
) -> Rows:
    """The raw rows of one page, parsed once and kept on the response.

    Raises `LitmosBodyError` (or its `LitmosTruncatedError`) for a body that is not the
    endpoint's rows: an HTML page, an error envelope, a cut-off document.
    """
    rows: Rows | None = getattr(response, _PAGE_ROWS_ATTR, None)
    if rows is None:
        body = response.content
        content_type = response.headers.get("Content-Type", "")
        if content_type.startswith("text/html"):
            msg = f"expected {response_format.upper()}, got an HTML page"
            raise LitmosBodyError(msg)
        if response_format == "json":
            rows = json_rows(body, single_object=single_object, wrappers=wrappers)
        else:
            rows = xml_rows(body, single_object=single_object)
        setattr(response, _PAGE_ROWS_ATTR, rows)
    return rows
