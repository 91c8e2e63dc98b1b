"""The HTTP side of talking to Litmos: what a response may cost, where the key may go.

Whatever answers at `api_url` is distrusted here, before any byte reaches a parser:

- the key stays on the API host: a redirect to another scheme, host or port is refused;
- every request, redirect hops included, takes a slot of the request budget;
- `request_timeout` is a deadline for the whole response (connect, headers, body and
  redirects), not a limit per socket read, so a server trickling bytes cannot hold a
  run;
- a body is read up to `max_response_mb` and no further.

The one-line summary of an error response and how long to wait before a retry live
here too, apart from the stream base, so that each rule is small and tested on its own.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import email.utils
import html
import os
import re
import socket
import threading
import time
import typing as t
from http import HTTPStatus
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from singer_sdk.exceptions import FatalAPIError
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

if t.TYPE_CHECKING:
    from collections.abc import Callable

    from typing_extensions import Self

# Litmos signals "over 100 requests a minute" with 503 and no Retry-After (docs/litmos-api.md
# §7); 429 is handled the same in case it ever sends one. The window is a minute, so
# retrying sooner only burns another request.
THROTTLE_STATUSES = frozenset({HTTPStatus.SERVICE_UNAVAILABLE, HTTPStatus.TOO_MANY_REQUESTS})
THROTTLE_WAIT_SECONDS = 60.0
# A Retry-After longer than this is not believed (a broken proxy could say a day).
MAX_RETRY_AFTER_SECONDS = 600.0
# Other transient failures (WCF 500 pages, 504s, drops) back off 2, 4, 8 ... seconds.
RETRY_BASE_SECONDS = 2.0
RETRY_MAX_SECONDS = 60.0

# Markup in an error page. Linear on any input: a comment runs to its end or to the end
# of the text, and a tag cannot contain "<", so no attempt scans past the next "<".
_TAGS = re.compile(r"<!--.*?(?:-->|\Z)|<[^<>]*>", re.DOTALL)
#: How much of an error body is summarised: the message is at the top of a WCF page.
ERROR_SUMMARY_BYTES = 16 * 1024
_DEFAULT_PORTS = {"http": 80, "https": 443}
#: Litmos has no reason to redirect more than once; requests would follow 30 hops.
MAX_REDIRECTS = 5
_CHUNK_BYTES = 64 * 1024


class CrossHostRedirectError(FatalAPIError):
    """Litmos (or something in between) redirected a request to another host."""


def origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) of a URL, with the scheme's default port filled in."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    return scheme, (parts.hostname or "").lower(), parts.port or _DEFAULT_PORTS.get(scheme)


class ResponseTooLargeError(FatalAPIError):
    """A response body over `max_response_mb`: refused without reading the rest."""


class ResponseDeadlineError(requests.exceptions.ReadTimeout):
    """No complete response within `request_timeout` (a timeout, so it is retried)."""


class _Deadline:
    """One deadline for a whole response: at the end, its sockets are shut down.

    A blocked read then returns at once, whatever the server trickles. The sockets are
    those the connection classes below register while the deadline is the thread's
    active one.
    """

    _active = threading.local()

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.ends = time.monotonic() + seconds
        self.expired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._done = False
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    @classmethod
    def current(cls) -> _Deadline | None:
        return getattr(cls._active, "deadline", None)

    def remaining(self) -> float:
        # Never 0: requests reads a timeout of 0 as "non-blocking".
        return max(self.ends - time.monotonic(), 0.001)

    def watch(self, sock: socket.socket | None) -> None:
        if sock is not None:
            with self._lock:
                if self.expired:
                    _shut(sock)
                else:
                    self._sockets.append(sock)

    def _expire(self) -> None:
        with self._lock:
            if self._done:
                return
            self.expired = True
            for sock in self._sockets:
                _shut(sock)

    def __enter__(self) -> Self:
        self._active.deadline = self
        self._timer.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        with self._lock:
            self._done = True
        self._timer.cancel()
        self._active.deadline = None


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


_Conn = t.TypeVar("_Conn", bound=HTTPConnection)


def _watch_new_socket(conn_class: type[_Conn]) -> type[_Conn]:
    """A urllib3 connection class whose sockets the active deadline can shut down."""

    class Watched(conn_class):  # type: ignore[misc,valid-type]  # a base known at run time
        def _new_conn(self) -> socket.socket:
            sock: socket.socket = super()._new_conn()
            if deadline := _Deadline.current():
                deadline.watch(sock)
            return sock

        def request(self, *args: t.Any, **kwargs: t.Any) -> None:
            # A kept-alive connection made under an earlier deadline.
            if (deadline := _Deadline.current()) and self.sock is not None:
                deadline.watch(self.sock)
            super().request(*args, **kwargs)

    Watched.__name__ = f"Watched{conn_class.__name__}"
    return Watched


class _WatchedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _watch_new_socket(HTTPConnection)


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _watch_new_socket(HTTPSConnection)


class _WatchedAdapter(HTTPAdapter):
    """requests' adapter, with connections whose sockets a deadline can shut down."""

    def init_poolmanager(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _WatchedHTTPPool,
            "https": _WatchedHTTPSPool,
        }


class LitmosSession(requests.Session):
    """A session for the Litmos API that bounds what any response may cost.

    - The key never leaves the API host: requests strips only `Authorization` when a
      redirect crosses hosts, and the `apikey` header would go along. So a redirect to
      another scheme, host or port is refused before anything is sent; one to the same
      origin is followed, at most `MAX_REDIRECTS` times.
    - `before_send` runs before every request sent, each redirect hop included (the
      request budget: Litmos counts every hop).
    - The `timeout` given to `send` is a deadline for the whole response, redirects
      included (`_Deadline`); past it the request fails as a timeout.
    - A body is read up to `max_body_bytes`; a longer one (or a Content-Length over it)
      fails with `ResponseTooLargeError` without reading the rest.
    """

    def __init__(
        self,
        api_url: str,
        *,
        before_send: t.Callable[[], None] = lambda: None,
        max_body_bytes: int = 100 * 1024 * 1024,
    ) -> None:
        """Allow redirects only within `api_url`'s origin."""
        super().__init__()
        self.api_origin = origin(api_url)
        self.before_send = before_send
        self.max_body_bytes = max_body_bytes
        self.max_redirects = MAX_REDIRECTS
        adapter = _WatchedAdapter()
        self.mount("https://", adapter)
        self.mount("http://", adapter)
        # The SDK calls `send`, which (unlike `request`) ignores REQUESTS_CA_BUNDLE; a
        # TLS-inspecting proxy's CA must still be usable.
        ca_bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
        if ca_bundle:
            self.verify = ca_bundle

    def send(self, request: requests.PreparedRequest, **kwargs: t.Any) -> requests.Response:
        """Send within one deadline for the response, its body bounded, redirects checked."""
        deadline = _Deadline.current()
        if deadline is not None:  # a redirect hop, inside the first request's deadline
            return self._send_within(deadline, request, **kwargs)
        timeout = kwargs.get("timeout")
        seconds = timeout[-1] if isinstance(timeout, tuple) else timeout
        with _Deadline(float(seconds or 300)) as deadline:
            return self._send_within(deadline, request, **kwargs)

    def _send_within(
        self, deadline: _Deadline, request: requests.PreparedRequest, **kwargs: t.Any
    ) -> requests.Response:
        follow = kwargs.pop("allow_redirects", True)
        kwargs["timeout"] = deadline.remaining()
        kwargs["stream"] = True  # the body is read here, bounded
        self.before_send()
        try:
            response = super().send(request, allow_redirects=False, **kwargs)
            self._read_body(response, deadline)
        except requests.exceptions.RequestException as exc:
            if deadline.expired and not isinstance(exc, ResponseDeadlineError):
                raise self._late(deadline) from exc
            raise
        if follow and response.is_redirect:
            # requests' own loop: it calls `send` (this method) for every hop.
            history = [response, *self.resolve_redirects(response, request, **kwargs)]
            response = history.pop()
            response.history = history
        return response

    def _read_body(self, response: requests.Response, deadline: _Deadline) -> None:
        limit = self.max_body_bytes
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > limit:
            response.close()
            raise ResponseTooLargeError(self._too_large(f"declares {int(declared):,} bytes"))
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_content(_CHUNK_BYTES):
            size += len(chunk)
            if size > limit:
                response.close()
                raise ResponseTooLargeError(self._too_large(f"is over {limit:,} bytes"))
            chunks.append(chunk)
        if deadline.expired:  # the last read ended because the deadline shut the socket
            response.close()
            raise self._late(deadline)
        response._content = b"".join(chunks)  # noqa: SLF001 (what requests' .content sets)
        response._content_consumed = True  # type: ignore[attr-defined]  # noqa: SLF001 (not in types-requests)

    def _too_large(self, what: str) -> str:
        megabytes = self.max_body_bytes / (1024 * 1024)
        return (
            f"Refused a response that {what}: more than the max_response_mb setting allows"
            f" ({megabytes:g} MB); raise the setting if Litmos really sends pages this big"
        )

    @staticmethod
    def _late(deadline: _Deadline) -> ResponseDeadlineError:
        return ResponseDeadlineError(
            f"no complete response within {deadline.seconds:g} s (the request_timeout setting)"
        )

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
        super().rebuild_auth(prepared_request, response)  # type: ignore[no-untyped-call]  # unannotated in types-requests


def local_now() -> dt.datetime:
    """The local clock, in UTC (one function, so tests can set a worker's clock off)."""
    return dt.datetime.now(dt.timezone.utc)


class ServerClock:
    """Litmos's clock, as the `Date` header of its responses tells it.

    Where a walk over changes ends, and with it the bookmark, must be Litmos's "now":
    with this machine's clock a few minutes ahead, a bookmark would jump over changes
    Litmos stamps in those minutes, and no later run would read them. The header has
    whole seconds, and Litmos's time when it wrote them lies within that second.
    """

    def __init__(self) -> None:
        """No response seen yet: Litmos's clock reads as this machine's."""
        self.offset: dt.timedelta | None = None

    def observe(self, response: requests.Response) -> dt.datetime | None:
        """Learn Litmos's clock from a response; its time, or None without a valid Date."""
        try:
            stamp = email.utils.parsedate_to_datetime(response.headers.get("Date", ""))
        except (TypeError, ValueError, IndexError):
            return None
        if stamp is None or stamp.tzinfo is None:
            return None
        self.offset = stamp - local_now()  # errs early by up to a second: safe
        return stamp.astimezone(dt.timezone.utc)

    def now(self) -> dt.datetime:
        """Litmos's time now, as far as the responses so far tell it."""
        return local_now() + (self.offset or dt.timedelta())


def error_summary(response: requests.Response, limit: int = 200) -> str:
    """One line from an error response: the reason phrase and the body's text, no markup.

    WCF puts the message in the status description and often an HTML page in the body.
    """
    head = (response.content or b"")[:ERROR_SUMMARY_BYTES]
    try:
        text = head.decode(response.encoding or "utf-8", errors="replace")
    except LookupError:  # a charset Python does not know
        text = head.decode("utf-8", errors="replace")
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
    return min(RETRY_BASE_SECONDS * 2.0 ** (attempt - 1), RETRY_MAX_SECONDS)


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
