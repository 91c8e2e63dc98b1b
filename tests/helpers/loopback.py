"""Loopback HTTP servers that answer whole replies and record what they receive.

`tests/helpers/hostile.py` has the byte-level cases (trickles, endless bodies).
"""

from __future__ import annotations

import dataclasses
import http.server
import threading


@dataclasses.dataclass
class SeenRequest:
    """One request a `LoopbackServer` received."""

    method: str
    path: str
    headers: dict[str, str]


class LoopbackServer:
    """A tiny HTTP server on a loopback address that records what it receives.

    It stands for "some other host" in redirect tests (127.0.0.2 is another host to a
    client, yet never leaves this machine) and for odd replies the sandbox has no
    reason to make. A GET of a path in `routes` gets that reply (status, headers,
    body), any other GET gets `reply`.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        reply: tuple[int, dict[str, str], bytes] = (200, {}, b"[]"),
    ) -> None:
        self.seen: list[SeenRequest] = []
        self.reply = reply
        self.routes: dict[str, tuple[int, dict[str, str], bytes]] = {}
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.seen.append(SeenRequest("GET", self.path, dict(self.headers.items())))
                path = self.path.split("?", 1)[0]
                status, headers, body = outer.routes.get(path, outer.reply)
                self.send_response(status)
                for name, value in {"Content-Length": str(len(body)), **headers}.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args: object) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer((host, 0), Handler)
        # A short poll: `shutdown()` waits for it, at the end of every test (0.5 s by default).
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def origin(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> LoopbackServer:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
