"""A hostile HTTP server on 127.0.0.1: answers written byte by byte, bounded in time and size.

`LoopbackServer` (tests/helpers/loopback.py) answers whole replies; the cases here need what a
broken or malicious server does with the bytes themselves: trickle them, send bodies of
gigabytes, never end a chunked body. Every answer stops after `max_seconds` or
`max_bytes`, or as soon as the client hangs up, so no test can run away.

    with HostileServer(trickle(body, every=1.0)) as api:
        ... config["api_url"] = api.url ...
"""

from __future__ import annotations

import socket
import socketserver
import threading
import time
import typing as t

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterator

#: What one answer may write at most, whatever the case asks: 3 GiB.
MAX_BYTES = 3 * 1024**3
#: And how long it may take.
MAX_SECONDS = 120.0

#: An answer: the request path in, the bytes to send out (in pieces, with pauses).
Answer = t.Callable[[str], "Iterator[bytes | float]"]


class HostileServer:
    """Serve `answer` to every request: it yields bytes to send and floats to sleep."""

    def __init__(
        self, answer: Answer, *, max_seconds: float = MAX_SECONDS, max_bytes: int = MAX_BYTES
    ) -> None:
        self.paths: list[str] = []
        self.sent: list[int] = []  # bytes written per request
        outer = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                head = _read_head(self.request)
                if head is None:
                    return
                path = head.split(b" ", 2)[1].decode("latin-1")
                outer.paths.append(path)
                outer.sent.append(0)
                index = len(outer.sent) - 1
                ends = time.monotonic() + max_seconds
                try:
                    for piece in answer(path):
                        if time.monotonic() > ends or outer.sent[index] > max_bytes:
                            break
                        if isinstance(piece, float):
                            time.sleep(piece)
                            continue
                        self.request.sendall(piece)
                        outer.sent[index] += len(piece)
                except OSError:  # the client hung up: the point of most cases
                    pass

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self._server = Server(("127.0.0.1", 0), Handler)
        # A short poll: `shutdown()` waits for it, at the end of every test (0.5 s by default).
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        """The api_url of this server."""
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1.svc"

    def __enter__(self) -> HostileServer:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def _read_head(sock: socket.socket) -> bytes | None:
    data = b""
    sock.settimeout(10)
    while b"\r\n\r\n" not in data and len(data) < 65536:
        try:
            chunk = sock.recv(4096)
        except OSError:
            return None
        if not chunk:
            return None
        data += chunk
    return data


def head(status: str = "200 OK", **headers: str) -> bytes:
    """A status line and headers, as bytes (Content_Type= becomes Content-Type:)."""
    lines = [f"HTTP/1.1 {status}"] + [f"{k.replace('_', '-')}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def whole(body: bytes, content_type: str = "application/json") -> Answer:
    """A normal answer with `body`."""

    def answer(_path: str) -> Iterator[bytes | float]:
        yield head(Content_Type=content_type, Content_Length=str(len(body)), Connection="close")
        yield body

    return answer


def trickle_body(body: bytes, every: float) -> Answer:
    """Headers at once, then the body one byte every `every` seconds."""

    def answer(_path: str) -> Iterator[bytes | float]:
        yield head(Content_Type="application/json", Content_Length=str(len(body)))
        for byte in body:
            yield bytes([byte])
            yield every

    return answer


def trickle_headers(body: bytes, every: float) -> Answer:
    """The status line and headers one byte every `every` seconds."""

    def answer(_path: str) -> Iterator[bytes | float]:
        for byte in head(Content_Type="application/json", Content_Length=str(len(body))):
            yield bytes([byte])
            yield every
        yield body

    return answer


def endless(prefix: bytes, filler: bytes, *, chunked: bool, length: int | None = None) -> Answer:
    """`prefix`, then `filler` again and again: chunked, or with `length` declared, or
    delimited by the connection's end."""

    def answer(_path: str) -> Iterator[bytes | float]:
        headers: dict[str, str] = {"Content_Type": "application/json"}
        if chunked:
            headers["Transfer_Encoding"] = "chunked"
        elif length is not None:
            headers["Content_Length"] = str(length)
        else:
            headers["Connection"] = "close"
        yield head(**headers)
        frame: Callable[[bytes], bytes] = (
            (lambda b: b"%x\r\n%s\r\n" % (len(b), b)) if chunked else (lambda b: b)
        )
        yield frame(prefix)
        piece = frame(filler)
        while True:
            yield piece

    return answer
