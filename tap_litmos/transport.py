"""The HTTP side of talking to Litmos: guarding the API key, error text, retry waits.

The session that keeps the key on the API host, the one-line summary of an error
response and how long to wait before a retry live here, apart from the stream base, so
that each rule is small and tested on its own.
"""

from __future__ import annotations

import email.utils
import html
import re
import time
import typing as t
from http import HTTPStatus
from urllib.parse import urlsplit

import requests
from singer_sdk.exceptions import FatalAPIError

if t.TYPE_CHECKING:
    from collections.abc import Callable

# Litmos signals "over 100 requests a minute" with 503 and no Retry-After (litmos-api.md
# §7); 429 is handled the same in case it ever sends one. The window is a minute, so
# retrying sooner only burns another request.
THROTTLE_STATUSES = frozenset({HTTPStatus.SERVICE_UNAVAILABLE, HTTPStatus.TOO_MANY_REQUESTS})
THROTTLE_WAIT_SECONDS = 60.0
# A Retry-After longer than this is not believed (a broken proxy could say a day).
MAX_RETRY_AFTER_SECONDS = 600.0
# Other transient failures (WCF 500 pages, 504s, drops) back off 2, 4, 8 ... seconds.
RETRY_BASE_SECONDS = 2.0
RETRY_MAX_SECONDS = 60.0

_TAGS = re.compile(r"<[^>]+>|<!--.*?-->", re.DOTALL)
_DEFAULT_PORTS = {"http": 80, "https": 443}


class CrossHostRedirectError(FatalAPIError):
    """Litmos (or something in between) redirected a request to another host."""


def origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) of a URL, with the scheme's default port filled in."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    return scheme, (parts.hostname or "").lower(), parts.port or _DEFAULT_PORTS.get(scheme)


class LitmosSession(requests.Session):
    """A session that never lets the API key leave the API host.

    requests strips only `Authorization` when a redirect crosses hosts; the `apikey`
    header would go along. So a redirect to another scheme, host or port is refused
    before anything is sent, and one to the same origin is followed as usual.
    """

    def __init__(self, api_url: str) -> None:
        """Allow redirects only within `api_url`'s origin."""
        super().__init__()
        self.api_origin = origin(api_url)

    def rebuild_auth(
        self, prepared_request: requests.PreparedRequest, response: requests.Response
    ) -> None:
        """Refuse a redirect off the API origin (requests calls this before following)."""
        target = origin(str(prepared_request.url))
        if target != self.api_origin:
            scheme, host, port = target
            msg = (
                f"Refused a redirect from the Litmos API to another host ({scheme}://{host}:"
                f"{port}, HTTP {response.status_code}): the API key is only sent to the"
                " api_url host. Check api_url or the proxy in between."
            )
            raise CrossHostRedirectError(msg)
        super().rebuild_auth(prepared_request, response)


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


def retry_after_seconds(
    response: requests.Response | None, now: Callable[[], float] = time.time
) -> float | None:
    """The wait a `Retry-After` header asks for (seconds or an HTTP date), or None."""
    value = response.headers.get("Retry-After", "").strip() if response is not None else ""
    if not value:
        return None
    if value.isdigit():
        seconds = float(value)
    else:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:  # an HTTP date is always GMT
            return None
        seconds = when.timestamp() - now()
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_SECONDS)


def retry_wait(failure: BaseException | None, attempt: int) -> float:
    """Seconds to wait before retry number `attempt` (1-based) after `failure`.

    A throttle waits what Retry-After says, else a whole minute; anything else backs
    off 2, 4, 8 ... seconds, at most a minute.
    """
    response = getattr(failure, "response", None)
    if response is not None and response.status_code in THROTTLE_STATUSES:
        asked = retry_after_seconds(response)
        return THROTTLE_WAIT_SECONDS if asked is None else asked
    return min(RETRY_BASE_SECONDS * 2 ** (attempt - 1), RETRY_MAX_SECONDS)


def describe_failure(failure: BaseException | None) -> str:
    """A short reason for a retry line: the HTTP status or the kind of network error."""
    response = getattr(failure, "response", None)
    if response is not None:
        return f"HTTP {response.status_code}"
    if isinstance(failure, requests.exceptions.Timeout):
        return "timed out"
    if isinstance(failure, (requests.exceptions.ConnectionError, ConnectionResetError)):
        return "connection failed"
    return type(failure).__name__ if failure is not None else "unknown error"
