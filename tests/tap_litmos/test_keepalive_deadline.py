"""`request_timeout` bounds a response on a kept-alive connection too.

A connection made for one response is reused for the next; the deadline must still be
able to shut that connection's socket down. Here a loopback server answers the first
request at once and keeps the connection open, then trickles the second response on
that same connection, a byte every 0.25 s: no socket read ever waits long enough to
time out, so only the deadline can end it.
"""

from __future__ import annotations

import socket
import socketserver
import threading
import time
import typing as t

import pytest
import requests

from tap_litmos.transport import LitmosSession, ResponseDeadlineError

if t.TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = pytest.mark.unit

TIMEOUT = 2.0
BODY = b"[]" + b" " * 100  # 102 bytes, a byte every 0.25 s: 25 s if nothing stops it
EVERY = 0.25


class KeepAliveServer:
    """Answers every request on a connection in turn: the first at once, the others
    trickled. Records which connection each request came on."""

    def __init__(self) -> None:
        self.requests: list[int] = []  # the connection number of each request
        self.trickled_bytes = 0
        outer = self
        connections = iter(range(1, 1000))

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                number = next(connections)
                sock: socket.socket = self.request
                sock.settimeout(30)
                pending = b""
                with sock.makefile("rb") as reader:
                    while True:
                        line = reader.readline()
                        if not line:
                            return
                        pending += line
                        if line not in {b"\r\n", b"\n"}:
                            continue
                        pending = b""
                        outer.requests.append(number)
                        head = (
                            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                            f"Content-Length: {len(BODY)}\r\nConnection: keep-alive\r\n\r\n"
                        ).encode()
                        try:
                            if len(outer.requests) == 1:
                                sock.sendall(head + BODY)
                                continue
                            sock.sendall(head)
                            for byte in BODY:
                                time.sleep(EVERY)
                                sock.sendall(bytes([byte]))
                                outer.trickled_bytes += 1
                        except OSError:  # the client shut the connection: the point
                            return

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self._server = Server(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1.svc"

    def __enter__(self) -> KeepAliveServer:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def server() -> Iterator[KeepAliveServer]:
    with KeepAliveServer() as running:
        yield running


def test_a_trickled_response_on_a_kept_alive_connection_stops_at_the_deadline(
    server: KeepAliveServer,
) -> None:
    session = LitmosSession(server.url)
    first = session.get(f"{server.url}/users", timeout=TIMEOUT)
    assert first.status_code == 200
    began = time.monotonic()
    with pytest.raises(ResponseDeadlineError, match="within 2 s"):
        session.get(f"{server.url}/users", timeout=TIMEOUT)
    took = time.monotonic() - began
    # Both requests went on one connection: the second reused the first's.
    assert server.requests == [1, 1]
    assert TIMEOUT <= took < TIMEOUT + 5  # trickled in full: 25 s
    assert server.trickled_bytes < len(BODY) / 2
    assert isinstance(ResponseDeadlineError("x"), requests.exceptions.Timeout)  # retried
