"""Helpers shared by the tests: the in-process tap runner and the expected output format.

The tap runs in-process (fast, and retries can skip their sleeps) but talks to the
sandbox only over HTTP, exactly as it talks to Litmos. Expectations come from the
sandbox's ground truth (`LitmosSandbox.truth()`), never from the tap's own code.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import http.server
import io
import json
import threading
import typing as t

from tap_litmos.tap import TapLitmos

API_KEY = "test-key-3f9a"  # a recognisable value, so tests can prove it never leaks


def canonical(value: dt.datetime | None) -> str | None:
    """The tap's documented output format for a date-time, built independently here."""
    if value is None:
        return None
    value = value.astimezone(dt.timezone.utc)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def expected_record(truth: dict[str, t.Any]) -> dict[str, t.Any]:
    """A sandbox truth row as the tap must emit it."""
    return {k: canonical(v) if isinstance(v, dt.datetime) else v for k, v in truth.items()}


@dataclasses.dataclass
class TapRun:
    """Everything one tap run wrote to stdout, split by message type."""

    messages: list[dict]
    error: BaseException | None = None
    tap: TapLitmos | None = None

    def records(self, stream: str = "achievements") -> list[dict]:
        return [
            m["record"] for m in self.messages if m["type"] == "RECORD" and m["stream"] == stream
        ]

    @property
    def states(self) -> list[dict]:
        return [m["value"] for m in self.messages if m["type"] == "STATE"]

    @property
    def final_state(self) -> dict:
        return self.states[-1]

    def bookmark(self, stream: str = "achievements") -> str | None:
        return self.final_state["bookmarks"].get(stream, {}).get("replication_key_value")


class _Capture(io.TextIOWrapper):
    """A text stdout with a `.buffer`, as the msgspec writer needs."""

    def __init__(self) -> None:
        super().__init__(io.BytesIO(), encoding="utf-8", write_through=True)

    def text(self) -> str:
        self.flush()
        return self.buffer.getvalue().decode()  # type: ignore[attr-defined]


def run_tap(
    config: dict[str, t.Any],
    state: dict | None = None,
    catalog: dict | None = None,
    *,
    allow_failure: bool = False,
) -> TapRun:
    """Run a full sync in-process and parse what it wrote (also when it fails)."""
    out = _Capture()
    error = None
    tap = None
    with contextlib.redirect_stdout(out):
        try:
            tap = TapLitmos(config=config, state=state, catalog=catalog, parse_env_config=False)
            tap.sync_all()
        except Exception as exc:
            if not allow_failure:
                raise
            error = exc
    return TapRun([json.loads(line) for line in out.text().splitlines() if line], error, tap)


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
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

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
