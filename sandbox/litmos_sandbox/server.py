"""The HTTP side of the sandbox: the server, the request handler and the reply.

The handler reads a request, hands it to the sandbox (``/_sandbox/*`` to the admin API,
``/v1.svc/*`` to the Litmos API, ``api.py``) and writes the :class:`Reply` back the way
IIS and WCF do (docs/litmos-api.md §1: IIS and ASP.NET headers), transport faults
(a dropped connection, a truncated body) included.
"""

from __future__ import annotations

import contextlib
import email.utils
import json
import re
import socket
import sys
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from litmos_sandbox import wire
from litmos_sandbox.routes import API_PREFIX

if TYPE_CHECKING:
    from litmos_sandbox.sandbox import LitmosSandbox


@dataclass
class Reply:
    """What the handler writes back. ``action`` is a transport fault, if any."""

    status: int
    body: bytes = b""
    content_type: str | None = "text/plain; charset=utf-8"
    reason: str | None = None
    rows: int = 0
    action: str | None = None  # "drop" | "truncate" | "truncate_json"
    headers: dict[str, str] = field(default_factory=dict)


def text_error(status: int, message: str) -> Reply:
    """A text/plain error, its message also the status line's reason phrase."""
    # WCF puts the message in the status description as well as the body (§8, the 409
    # recording "409 UserName already exists").
    return Reply(status, message.encode(), "text/plain; charset=utf-8", reason=message)


def json_reply(obj: Any, status: int = 200) -> Reply:
    """A JSON reply (the admin API's)."""
    body = json.dumps(obj, ensure_ascii=False).encode()
    return Reply(status, body, "application/json; charset=utf-8")


class Server(ThreadingHTTPServer):
    """A threading HTTP server that knows its sandbox."""

    daemon_threads = True
    allow_reuse_address = True
    sandbox: LitmosSandbox

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients hanging up mid-reply are normal here (fault tests do it); stay quiet."""
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)


class Handler(BaseHTTPRequestHandler):
    """One connection: read each request, dispatch it, write the reply as IIS would."""

    protocol_version = "HTTP/1.1"  # keep-alive; every reply has a Content-Length
    disable_nagle_algorithm = True  # headers and body leave without delayed-ACK stalls
    timeout = 60  # close idle keep-alive connections eventually
    server: Server

    def version_string(self) -> str:
        """The `Server` header of every reply."""
        return "Microsoft-IIS/10.0"  # §1: IIS + ASP.NET headers on recorded responses

    def date_time_string(self, timestamp: float | None = None) -> str:
        """The `Date` header: the real clock, plus `clock_offset_seconds` (a clock off)."""
        offset = float(self.server.sandbox.settings.clock_offset_seconds)
        return email.utils.formatdate((timestamp or time.time()) + offset, usegmt=True)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        """Silence the default stderr access log."""

    def setup(self) -> None:
        """Register the connection with the sandbox (for the request log and stop())."""
        super().setup()
        self.connection_id = self.server.sandbox._open_connection(self.connection)  # noqa: SLF001

    def finish(self) -> None:
        """Forget the connection."""
        try:
            super().finish()
        finally:
            self.server.sandbox._close_connection(self.connection)  # noqa: SLF001

    def do_GET(self) -> None:
        """Dispatch a GET request."""
        self._dispatch("GET")

    def do_POST(self) -> None:
        """Dispatch a POST request."""
        self._dispatch("POST")

    def do_PUT(self) -> None:
        """Dispatch a PUT request."""
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        """Dispatch a DELETE request."""
        self._dispatch("DELETE")

    def do_PATCH(self) -> None:
        """Dispatch a PATCH request."""
        self._dispatch("PATCH")

    def _dispatch(self, method: str) -> None:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            self.close_connection = True
            self._send(text_error(400, wire.MSG_400))
            return
        body = self.rfile.read(length) if length > 0 else b""
        split = urlsplit(self.path)
        sandbox = self.server.sandbox
        lowered = split.path.lower()
        if split.path.startswith("/_sandbox/"):
            reply = sandbox._admin(method, split.path, body, split.query)  # noqa: SLF001
        elif lowered == API_PREFIX or lowered.startswith(API_PREFIX + "/"):
            # API routes: faults, throttle and the request log apply here only.
            reply = sandbox._api(  # noqa: SLF001
                method, split.path, split.query, self.headers, self.connection_id
            )
        else:
            reply = text_error(404, "Not Found")
        self._send(reply)

    def _send(self, reply: Reply) -> None:
        if reply.action == "drop":
            # Close without a byte: the client sees the connection reset/closed.
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        body = reply.body
        length = len(body)
        if reply.action == "truncate_json":
            body = body[: length // 2]
            length = len(body)
        elif reply.action == "truncate":
            body = body[: length // 2]  # Content-Length still announces the full body
        reason = reply.reason
        if reason is not None:  # a reason phrase is one latin-1 line
            reason = re.sub(r"[\r\n]+", " ", reason).encode("latin-1", "replace").decode("latin-1")
        self.send_response(reply.status, reason)
        if reply.content_type:
            self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(length))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.send_header("X-Powered-By", "ASP.NET")
        self.end_headers()
        self.wfile.write(body)
        if reply.action == "truncate":
            self.wfile.flush()
            self.close_connection = True
