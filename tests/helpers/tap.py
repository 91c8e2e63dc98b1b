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
import os
import subprocess
import sys
import threading
import typing as t
from pathlib import Path

from tap_litmos.tap import TapLitmos
from tests.servers import POSTGRES_USER, Server

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
    text = out.text()
    assert API_KEY not in text  # whatever the server sent, the key is in no message
    return TapRun([json.loads(line) for line in text.splitlines() if line], error, tap)


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


# --- Catalog-wide helpers: stream selection, request logs, date-window arithmetic ------
#
# Shared by the contract, date-window and snapshot tests. Expectations still come from
# the sandbox (its specs, ground truth and request log); these only do the bookkeeping.

API_PREFIX = "/v1.svc"
#: What a `since`/`to` query value looks like (`YYYY-MM-DD HH:MM:SS`, UTC wall clock).
SINCE_FORMAT = "%Y-%m-%d %H:%M:%S"


def catalog_selecting(config: dict[str, t.Any], *streams: str) -> dict:
    """The tap's own catalog (what `--discover` prints) with exactly `streams` selected.

    Every other stream is deselected, so a run requests only what a test checks.
    """
    tap = TapLitmos(config=config, parse_env_config=False, validate_config=False)
    catalog = json.loads(json.dumps(tap.catalog_dict))  # a plain, JSON-ready copy
    known = {entry["tap_stream_id"] for entry in catalog["streams"]}
    unknown = set(streams) - known
    if unknown:
        msg = f"not in the catalog: {sorted(unknown)}"
        raise ValueError(msg)
    for entry in catalog["streams"]:
        wanted = entry["tap_stream_id"] in streams
        for item in entry["metadata"]:
            if item["breadcrumb"] == [] or wanted:
                item["metadata"]["selected"] = wanted
    return catalog


def stream_metadata(catalog: dict, stream: str) -> dict:
    """The stream-level (empty breadcrumb) metadata of `stream` in a catalog dict."""
    entry = next(e for e in catalog["streams"] if e["tap_stream_id"] == stream)
    return next(m["metadata"] for m in entry["metadata"] if m["breadcrumb"] == [])


def parse_utc(text: str) -> dt.datetime:
    """An aware UTC datetime from canonical output text or a `since`/`to` query value."""
    if "T" in text:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(dt.timezone.utc)
    return dt.datetime.strptime(text, SINCE_FORMAT).replace(tzinfo=dt.timezone.utc)


def since_text(value: dt.datetime) -> str:
    """A query value as Litmos takes it: UTC wall clock, whole seconds (floored)."""
    return value.astimezone(dt.timezone.utc).strftime(SINCE_FORMAT)


def requests_to(sandbox: t.Any, stream: str) -> list[dict]:
    """The logged API requests for `stream`'s endpoint, from the sandbox's own spec.

    Paths with `{...}` parameters (per-parent endpoints) match any value; `ilt_sessions`
    (and its days) match `/sessions/past` and `/sessions/future`.
    """
    path = sandbox.spec(stream).path
    if stream in ("ilt_sessions", "ilt_session_days"):
        wanted = {f"{API_PREFIX}/sessions/past", f"{API_PREFIX}/sessions/future"}
        return [r for r in sandbox.requests if r["path"].lower() in wanted]
    parts = f"{API_PREFIX}{path}".lower().split("/")

    def matches(logged: str) -> bool:
        got = logged.split("/")
        return len(got) == len(parts) and all(
            p.startswith("{") or p == g.lower() for p, g in zip(parts, got, strict=True)
        )

    return [r for r in sandbox.requests if matches(r["path"])]


def pages_needed(rows: int, page_size: int) -> int:
    """Requests to read `rows` rows by `page_size`: a short page ends the walk, so an
    exact multiple (zero included) costs one more, empty, request."""
    return -(-rows // page_size) + (rows % page_size == 0)


def key_of(record: dict, key: t.Sequence[str]) -> tuple:
    """A record's primary key as a tuple of its values."""
    return tuple(record[k] for k in key)


def comparable(row: dict[str, t.Any]) -> dict[str, t.Any]:
    """A truth row as the tap emits it, with decimals as the JSON numbers a target reads.

    The tap writes `Decimal("66.67")` as the JSON number 66.67; parsed back that is the
    float 66.67, which equals `float(Decimal("66.67"))` but not the Decimal itself.
    """
    import decimal

    return {
        k: float(v) if isinstance(v, decimal.Decimal) else v
        for k, v in expected_record(row).items()
    }


def run_achievements(
    config: dict[str, t.Any], state: dict | None = None, *, allow_failure: bool = False
) -> TapRun:
    """`run_tap` with only `achievements` selected: for tests of what every stream inherits."""
    catalog = catalog_selecting(config, "achievements")
    return run_tap(config, state, catalog, allow_failure=allow_failure)


ROOT = Path(__file__).resolve().parent.parent
MELTANO = str(Path(sys.executable).parent / "meltano")


def meltano_env(database: Path, **extra: str) -> dict[str, str]:
    """This process's environment without Meltano, plugin, AWS or libpq settings, with
    Meltano's system database in the file `database`, plus `extra`."""
    dropped = ("MELTANO_", "TAP_LITMOS_", "TARGET_", "AWS_", "FSSPEC_", "PG")
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith(dropped)},
        "MELTANO_DATABASE_URI": f"sqlite:///{database}",
        "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
        "MELTANO_ENVIRONMENT": "dev",
        **extra,
    }


def target_postgres_env(server: Server, database: str) -> dict[str, str]:
    """The loader's connection to `database` on a test server, as a deployment sets it."""
    return {
        "TARGET_POSTGRES_HOST": server.host,
        "TARGET_POSTGRES_PORT": str(server.port),
        "TARGET_POSTGRES_USER": POSTGRES_USER,
        "TARGET_POSTGRES_PASSWORD": "",  # trust authentication on loopback
        "TARGET_POSTGRES_DATABASE": database,
    }


def run_meltano(
    env: t.Mapping[str, str], *args: str, cwd: Path = ROOT, timeout: float = 900
) -> subprocess.CompletedProcess[str]:
    """`meltano ARGS` in `cwd`, whatever its outcome; asserts the key never shows."""
    result = subprocess.run(
        [MELTANO, *args],
        cwd=cwd,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert API_KEY not in result.stdout + result.stderr
    return result


def meltano_cli(env: t.Mapping[str, str], cwd: Path = ROOT) -> t.Callable[..., str]:
    """`meltano ARGS` in `cwd`: asserts success and that the key never shows; its stdout."""

    def run(*args: str) -> str:
        result = run_meltano(env, *args, cwd=cwd)
        assert result.returncode == 0, (
            f"meltano {' '.join(args)} failed:\n{result.stdout[-3000:]}{result.stderr[-5000:]}"
        )
        return result.stdout

    return run
