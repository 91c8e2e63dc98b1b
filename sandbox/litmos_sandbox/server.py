"""The HTTP side of the sandbox: routing, auth, parameters, paging and the request log.

Behaviour follows docs/litmos-api.md: auth and ``source`` (§2), formats (§3), paging (§4),
``since``/``userid`` on ``/achievements`` (§5.2, §6.4), rate limits (§7), errors (§8).
"""

from __future__ import annotations

import contextlib
import email.utils
import json
import re
import socket
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

from litmos_sandbox import spec as S  # noqa: N812
from litmos_sandbox import wire
from litmos_sandbox.data import Achievement, Dataset, truth_to_json
from litmos_sandbox.faults import DEFAULT_RANDOM_KINDS, FaultPlan, Throttle, check_kinds
from litmos_sandbox.render import PageRenderer
from litmos_sandbox.world import ORG_ORDERS, Sizes, World, wall

API_PREFIX = "/v1.svc"
MAX_LIMIT = 1000  # §4: "Total records to return (max 1000)"
DEFAULT_LIMIT = 100  # §4, §9 item 3
MAX_SOURCE = 50  # §2: "String, max length 50"
_INT32_MAX = 2**31 - 1

# §5.2 / SAP-OAS 406 text: "yyyy-MM-dd HH:mm:ss" or "yyyy-MM-dd HH:mm" or "yyyy-MM-dd";
# the docs also write the date-time with a "T" (§9 item 6), so both separators pass.
_SINCE_RE = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2}))?)?", re.ASCII)
# .NET int.Parse: optional surrounding blanks and sign, digits only.
_INT_RE = re.compile(r"\s*([+-]?)(\d+)\s*", re.ASCII)

_DATASET_OPTIONS = ("seed", "users", "achievements")
_WORLD_OPTIONS = (
    "teams",
    "courses",
    "learning_paths",
    "course_results",
    "module_results",
    "logins",
    "now",
)
MAX_RANGE = timedelta(days=7)  # §5.1 "The date range must be equal or less than 7 days."
_SEARCH_FIELDS = ("UserName", "FirstName", "LastName", "Email", "CompanyName", "Name", "Title")


def _route_table() -> list[tuple[re.Pattern[str], S.Endpoint, bool | None]]:
    """(path regex, spec, ILT side) for every served list endpoint.

    WCF matches paths case-insensitively.
    """
    out: list[tuple[re.Pattern[str], S.Endpoint, bool | None]] = []
    for ep in S.ENDPOINTS.values():
        if ep.family in ("snapshot", "org", "child"):
            pattern = re.sub(r"\\{(\w+)\\}", r"(?P<\1>[^/]+)", re.escape(ep.path))
            out.append((re.compile(re.escape(API_PREFIX) + pattern, re.IGNORECASE), ep, None))
    for side in ("past", "future"):
        out.append(
            (
                re.compile(re.escape(f"{API_PREFIX}/sessions/{side}"), re.IGNORECASE),
                S.SESSION_COURSE,
                side == "past",
            )
        )
    return out


_ROUTES = _route_table()
_RENDER_OPTIONS = ("json_utc_dates", "xml_nil_style", "html_latin1_entities", "json_true_utc_dates")
_RUNTIME_OPTIONS = (
    "api_key",
    "extra_rows",
    "throttle_per_minute",
    "throttle_window_seconds",
    "slow_seconds",
    "fault_rate",
    "fault_kinds",
    "fault_seed",
    "retry_after",
    "retry_after_seconds",
    "throttle_status",
    "stall_seconds",
    "redirect_base",
    "extra_fields",
    "org_since_inclusive",
    "org_to_inclusive",
    "org_order",
    "json_true_utc_dates",
    "json_wrapped",
    "forbidden",
    "clock_offset_seconds",
)
_FIXED_OPTIONS = ("host", "port")


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


def _text_error(status: int, message: str) -> Reply:
    # WCF puts the message in the status description as well as the body (§8, the 409
    # recording "409 UserName already exists").
    return Reply(status, message.encode(), "text/plain; charset=utf-8", reason=message)


def _json_reply(obj: Any, status: int = 200) -> Reply:
    body = json.dumps(obj, ensure_ascii=False).encode()
    return Reply(status, body, "application/json; charset=utf-8")


def _parse_int(text: str) -> int | None:
    """A non-negative 32-bit int as .NET would bind it, or None (-> 400)."""
    m = _INT_RE.fullmatch(text)
    if m is None:
        return None
    value = int(m.group(2))
    if m.group(1) == "-" and value != 0:
        return None
    if value > _INT32_MAX:
        return None
    return value


def _int_param(params: dict[str, str], name: str, default: int) -> int | None:
    """An integer query parameter: the default when absent or empty, None when malformed."""
    text = params.get(name)
    return default if not text else _parse_int(text)


def parse_since(text: str) -> datetime | None:
    """Parse a ``since`` value (a UTC wall clock); None when the format is not accepted."""
    m = _SINCE_RE.fullmatch(text)
    if m is None:
        return None
    y, mo, d, h, mi, s = (int(g) if g is not None else 0 for g in m.groups())
    try:
        return datetime(y, mo, d, h, mi, s)
    except ValueError:
        return None


def _stream_name(endpoint: str) -> str:
    """A stream name from a stream name or an API path (``/achievements``)."""
    if endpoint in S.ENDPOINTS or endpoint == "ilt_tree":
        return endpoint
    text = endpoint.strip().rstrip("/")
    if not text.lower().startswith(API_PREFIX):
        text = API_PREFIX + "/" + text.lstrip("/")
    if text.lower() == API_PREFIX + "/achievements":
        return "achievements"
    for pattern, ep, _ in _ROUTES:
        if pattern.fullmatch(text):
            return ep.stream
    msg = f"unknown stream or path {endpoint!r}"
    raise ValueError(msg)


def _method_not_allowed() -> Reply:
    return Reply(
        405, wire.METHOD_NOT_ALLOWED_HTML, "text/html; charset=UTF-8", headers={"Allow": "GET"}
    )


def _search(ep: S.Endpoint, rows: list[tuple], text: str) -> list[tuple]:
    """``search``: case-insensitive substring of a name-like field (§4)."""
    if not text:
        return rows
    needle = text.lower()
    cols = [ep.pos(n) for n in _SEARCH_FIELDS if n in ep.names]
    return [r for r in rows if any(needle in (r[c] or "").lower() for c in cols)]


def _norm_key(key: Any) -> Any:
    if isinstance(key, list):
        return tuple(key)
    if isinstance(key, str) and key.isdigit():
        return int(key)
    return key


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    sandbox: LitmosSandbox

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients hanging up mid-reply are normal here (fault tests do it); stay quiet."""
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive; every reply has a Content-Length
    disable_nagle_algorithm = True  # headers and body leave without delayed-ACK stalls
    timeout = 60  # close idle keep-alive connections eventually
    server: _Server

    def version_string(self) -> str:
        return "Microsoft-IIS/10.0"  # §1: IIS + ASP.NET headers on recorded responses

    def date_time_string(self, timestamp: float | None = None) -> str:
        """The `Date` header: the real clock, plus `clock_offset_seconds` (a clock off)."""
        offset = float(self.server.sandbox.options["clock_offset_seconds"])
        return email.utils.formatdate((timestamp or time.time()) + offset, usegmt=True)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        """Silence the default stderr access log."""

    def setup(self) -> None:
        super().setup()
        self.connection_id = self.server.sandbox._open_connection(self.connection)  # noqa: SLF001

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.sandbox._close_connection(self.connection)  # noqa: SLF001

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def _dispatch(self, method: str) -> None:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            self.close_connection = True
            self._send(_text_error(400, wire.MSG_400))
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
            reply = _text_error(404, "Not Found")
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


class LitmosSandbox:
    """A local emulator of the Litmos ``/v1.svc/achievements`` endpoint.

    >>> with LitmosSandbox(achievements=50) as sb:  # doctest: +SKIP
    ...     sb.base_url  # 'http://127.0.0.1:<port>/v1.svc'
    """

    def __init__(
        self,
        *,
        seed: int = 42,
        users: int = 20,
        achievements: int = 500,
        api_key: str = "sandbox-key",
        host: str = "127.0.0.1",
        port: int = 0,
        extra_rows: int = 0,
        json_utc_dates: bool = False,
        xml_nil_style: str = "i",
        html_latin1_entities: bool = False,
        throttle_per_minute: int | None = None,
        throttle_window_seconds: float = 60.0,
        slow_seconds: float = 0.0,
        fault_rate: float = 0.0,
        fault_kinds: tuple[str, ...] | list[str] = DEFAULT_RANDOM_KINDS,
        fault_seed: int = 0,
        retry_after: int | str | None = None,
        retry_after_seconds: int = 30,
        throttle_status: int = 503,
        stall_seconds: float = 5.0,
        redirect_base: str | None = None,
        extra_fields: dict[str, str] | None = None,
        teams: int = 6,
        courses: int = 16,
        learning_paths: int = 4,
        course_results: int | None = None,
        module_results: int | None = None,
        logins: int | None = None,
        now: datetime | str | None = None,
        org_since_inclusive: bool = True,
        org_to_inclusive: bool = False,
        org_order: str = "date",
        json_true_utc_dates: bool = False,
        json_wrapped: bool = False,
        forbidden: tuple[str, ...] | list[str] = (),
        clock_offset_seconds: float = 0.0,
    ) -> None:
        """Generate the dataset; call :meth:`start` (or use ``with``) to serve it."""
        self._options: dict[str, Any] = {
            "seed": seed,
            "users": users,
            "achievements": achievements,
            "api_key": api_key,
            "host": host,
            "port": port,
            "extra_rows": extra_rows,
            "json_utc_dates": json_utc_dates,
            "xml_nil_style": xml_nil_style,
            "html_latin1_entities": html_latin1_entities,
            "throttle_per_minute": throttle_per_minute,
            "throttle_window_seconds": throttle_window_seconds,
            "slow_seconds": slow_seconds,
            "fault_rate": fault_rate,
            "fault_kinds": check_kinds(fault_kinds),
            "fault_seed": fault_seed,
            "retry_after": retry_after,
            "retry_after_seconds": retry_after_seconds,
            "throttle_status": throttle_status,
            "stall_seconds": stall_seconds,
            "redirect_base": redirect_base,
            "extra_fields": dict(extra_fields or {}),
            "teams": teams,
            "courses": courses,
            "learning_paths": learning_paths,
            "course_results": course_results,
            "module_results": module_results,
            "logins": logins,
            "now": wall(now),
            "org_since_inclusive": bool(org_since_inclusive),
            "org_to_inclusive": bool(org_to_inclusive),
            "org_order": org_order,
            "json_true_utc_dates": bool(json_true_utc_dates),
            "json_wrapped": bool(json_wrapped),
            "forbidden": _forbidden_streams(forbidden),
            "clock_offset_seconds": float(clock_offset_seconds),
        }
        self._validate(self._options)
        self._dataset = Dataset.generate(seed, users, achievements)
        self._world = self._make_world()
        self._renderers: dict[tuple, wire.Renderer] = {}
        self._page_renderers: dict[tuple, PageRenderer] = {}
        self._throttle = Throttle(throttle_per_minute, throttle_window_seconds)
        self._faults = FaultPlan(fault_rate, self._options["fault_kinds"], fault_seed)
        self._log: list[dict[str, Any]] = []
        self._log_lock = threading.Lock()
        self._conn_lock = threading.Lock()
        self._connections: dict[socket.socket, int] = {}
        self._next_conn = 1
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()  # wakes stalled handlers on stop()
        self._raw: dict[str, dict[Any, dict[str, str]]] = {}

    # --- lifecycle ----------------------------------------------------------------------

    def start(self) -> LitmosSandbox:
        """Bind and serve in a daemon thread; returns self."""
        if self._server is not None:
            return self
        self._stopping.clear()
        server = _Server((self._options["host"], self._options["port"]), _Handler)
        server.sandbox = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="litmos-sandbox",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close every open connection."""
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        with self._conn_lock:
            conns = list(self._connections)
        for conn in conns:  # idle keep-alive connections would otherwise linger
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> LitmosSandbox:
        """Start serving."""
        return self.start()

    def __exit__(self, *exc: object) -> None:
        """Stop serving."""
        self.stop()

    @property
    def port(self) -> int:
        """The bound port (after :meth:`start`)."""
        if self._server is None:
            msg = "sandbox is not running; call start()"
            raise RuntimeError(msg)
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        """``http://<host>:<port>/v1.svc``."""
        return f"http://{self._options['host']}:{self.port}{API_PREFIX}"

    @property
    def api_key(self) -> str:
        """The API key the server accepts."""
        return self._options["api_key"]

    # --- data -------------------------------------------------------------------------

    @property
    def dataset(self) -> Dataset:
        """The dataset being served."""
        return self._dataset

    def truth(self, name: str = "achievements") -> list[dict[str, Any]]:
        """Ground truth of stream ``name`` (default achievements), in server order.

        Rows are dicts keyed by Litmos field names in wire order (flattened streams add
        their parent ids), typed: aware UTC datetimes (ms), int, Decimal, bool, None, str.
        """
        if name == "achievements":
            return self._dataset.truth()
        self.spec(name)
        return self._world.truth(name)

    def add_achievements(self, count: int = 1, **fields: Any) -> list[Achievement]:
        """Add achievements at runtime; they are visible to the next request."""
        return self._dataset.add(count, **fields)

    def set_raw(self, endpoint: str, key: Any, field_name: str, raw_text: str) -> None:
        """Put ``raw_text`` verbatim on the wire as ``field_name`` of the row keyed ``key``.

        ``endpoint`` is a stream name (``"achievements"``, ``"course_results"``,
        ``"ilt_sessions"`` ...) or an API path (``/org/results/details``). JSON carries
        it as a string, XML as element text. For testing a client's bad-value handling.
        """
        stream = _stream_name(endpoint)
        if stream == "achievements":
            norm = _norm_key(key)
        elif stream == "ilt_tree":
            norm = key
        else:
            norm = self._world.norm_key(stream, key)
        self._raw.setdefault(stream, {}).setdefault(norm, {})[field_name] = str(raw_text)

    def clear_raw(self) -> None:
        """Undo every :meth:`set_raw`."""
        self._raw.clear()

    def _raw_for(self, stream: str) -> dict[Any, dict[str, str]]:
        return self._raw.get(stream, {})

    # --- the world: every other endpoint --------------------------------------------------

    def _make_world(self) -> World:
        o = self._options
        anchor = o["now"] or datetime.now(timezone.utc).replace(
            tzinfo=None, hour=0, minute=0, second=0, microsecond=0
        )
        sizes = Sizes(
            o["users"],
            o["teams"],
            o["courses"],
            o["learning_paths"],
            o["course_results"],
            o["module_results"],
            o["logins"],
        )
        return World.generate(self._dataset, o["seed"], sizes, anchor)

    @property
    def world(self) -> World:
        """The generated account behind every endpoint but achievements."""
        return self._world

    def now(self) -> datetime:
        """The sandbox clock: the ``now`` option if set, else the real UTC time (naive, ms).

        Either is moved by ``clock_offset_seconds``, as the ``Date`` header is.
        """
        offset = timedelta(seconds=float(self._options["clock_offset_seconds"]))
        fixed = self._options["now"]
        if fixed is not None:
            return fixed + offset
        real = datetime.now(timezone.utc).replace(tzinfo=None) + offset
        return real.replace(microsecond=real.microsecond // 1000 * 1000)

    def spec(self, name: str) -> S.Endpoint:
        """The endpoint spec of stream ``name`` (path, key, fields and kinds)."""
        try:
            return S.ENDPOINTS[name]
        except KeyError:
            msg = f"unknown stream {name!r}; known: {sorted(S.ENDPOINTS)}"
            raise ValueError(msg) from None

    @staticmethod
    def streams() -> list[str]:
        """Every stream name ``truth(name)`` and ``spec(name)`` accept."""
        return list(S.ENDPOINTS)

    def delete_user(self, user_id: str) -> None:
        """Hard-delete a user: gone from /users/details, /instructors and badges."""
        self._world.delete_user(user_id)

    def touch(self, stream: str, key: Any, **fields: Any) -> dict[str, Any]:
        """Update a row (UpdatedDate = now unless given, for /org/* rows); returns it."""
        return self._world.touch(stream, key, self.now(), **fields)

    def remove_link(self, stream: str, key: Any) -> dict[str, Any]:
        """Deactivate a link row (Active false, UpdatedDate now); returns it."""
        return self._world.remove_link(stream, key, self.now())

    def add(self, stream: str, **fields: Any) -> dict[str, Any]:
        """Add a row to ``stream`` (missing fields defaulted); returns its truth row."""
        if stream == "achievements":
            return self.add_achievements(1, **fields)[0].to_truth()
        return self._world.add(stream, self.now(), **fields)

    # --- options and faults -------------------------------------------------------------

    @property
    def options(self) -> dict[str, Any]:
        """A copy of the current options."""
        return dict(self._options)

    def configure(self, **options: Any) -> None:
        """Change options at runtime. Changing seed/users/achievements regenerates data."""
        unknown = set(options) - set(self._options)
        if unknown:
            msg = f"unknown option(s): {sorted(unknown)}"
            raise TypeError(msg)
        if "fault_kinds" in options:
            options["fault_kinds"] = check_kinds(options["fault_kinds"])
        if "extra_fields" in options:
            options["extra_fields"] = dict(options["extra_fields"] or {})
        if "forbidden" in options:
            options["forbidden"] = _forbidden_streams(options["forbidden"] or ())
        if "clock_offset_seconds" in options:
            options["clock_offset_seconds"] = float(options["clock_offset_seconds"])
        merged = {**self._options, **options}
        self._validate(merged)
        for name in _FIXED_OPTIONS:
            if name in options and options[name] != self._options[name] and self._server:
                msg = f"{name} cannot change while the sandbox is running"
                raise ValueError(msg)
        if "now" in options:
            merged["now"] = wall(merged["now"])
        regenerate = any(merged[k] != self._options[k] for k in _DATASET_OPTIONS)
        reworld = regenerate or any(merged[k] != self._options[k] for k in _WORLD_OPTIONS)
        self._options = merged
        if regenerate:
            self._dataset = Dataset.generate(
                merged["seed"], merged["users"], merged["achievements"]
            )
            self._renderers = {}
        if reworld:
            self._world = self._make_world()
        self._throttle.per_window = merged["throttle_per_minute"]
        self._throttle.window_seconds = float(merged["throttle_window_seconds"])
        self._faults.configure(
            rate=float(merged["fault_rate"]),
            kinds=merged["fault_kinds"],
            seed=merged["fault_seed"] if "fault_seed" in options else None,
        )

    @staticmethod
    def _validate(opts: dict[str, Any]) -> None:
        for name in ("users", "achievements", "extra_rows", "teams", "courses", "learning_paths"):
            if not isinstance(opts[name], int) or opts[name] < 0:
                msg = f"{name} must be a non-negative int"
                raise ValueError(msg)
        for name in ("course_results", "module_results", "logins"):
            if opts[name] is not None and (not isinstance(opts[name], int) or opts[name] < 0):
                msg = f"{name} must be None or a non-negative int"
                raise ValueError(msg)
        if opts["org_order"] not in ORG_ORDERS:
            msg = f"org_order must be one of {ORG_ORDERS}"
            raise ValueError(msg)
        if opts["xml_nil_style"] not in ("i", "bare"):
            msg = "xml_nil_style must be 'i' or 'bare'"
            raise ValueError(msg)
        tpm = opts["throttle_per_minute"]
        if tpm is not None and (not isinstance(tpm, int) or tpm < 0):
            msg = "throttle_per_minute must be None or a non-negative int"
            raise ValueError(msg)
        if not 0.0 <= float(opts["fault_rate"]) <= 1.0:
            msg = "fault_rate must be between 0 and 1"
            raise ValueError(msg)
        if float(opts["slow_seconds"]) < 0 or float(opts["throttle_window_seconds"]) <= 0:
            msg = "slow_seconds must be >= 0 and throttle_window_seconds > 0"
            raise ValueError(msg)
        if float(opts["stall_seconds"]) < 0:
            msg = "stall_seconds must be >= 0"
            raise ValueError(msg)
        if opts["throttle_status"] not in (503, 429):
            msg = "throttle_status must be 503 or 429"
            raise ValueError(msg)
        ra = opts["retry_after"]
        if (
            ra is not None
            and ra != "http-date"
            and (isinstance(ra, bool) or not isinstance(ra, int) or ra < 0)
        ):
            msg = "retry_after must be None, a non-negative int or 'http-date'"
            raise ValueError(msg)
        if not isinstance(opts["retry_after_seconds"], int) or opts["retry_after_seconds"] < 0:
            msg = "retry_after_seconds must be a non-negative int"
            raise ValueError(msg)
        base = opts["redirect_base"]
        if base is not None and not (
            isinstance(base, str) and base.startswith(("http://", "https://"))
        ):
            msg = "redirect_base must be None or an http(s) URL"
            raise ValueError(msg)
        extra = opts["extra_fields"]
        if not isinstance(extra, dict) or not all(
            isinstance(k, str) and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", k) and isinstance(v, str)
            for k, v in extra.items()
        ):
            msg = "extra_fields must map element names to text"
            raise ValueError(msg)

    def inject(self, kind: str, count: int = 1, *, after: int = 0) -> None:
        """Make ``count`` API requests fail with ``kind``, after ``after`` clean ones.

        FIFO behind faults injected earlier.
        """
        self._faults.inject(kind, count, after)

    def clear_faults(self) -> None:
        """Forget queued faults and the throttle window."""
        self._faults.clear()
        self._throttle.reset()

    @property
    def pending_faults(self) -> list[str | None]:
        """Injected slots not consumed yet (None: a fault-free slot from ``after``)."""
        return self._faults.pending()

    # --- request log --------------------------------------------------------------------

    @property
    def requests(self) -> list[dict[str, Any]]:
        """Logged API requests, oldest first (copies)."""
        with self._log_lock:
            return [dict(e, params=dict(e["params"])) for e in self._log]

    def reset_log(self) -> None:
        """Empty the request log."""
        with self._log_lock:
            self._log.clear()

    def _record(self, entry: dict[str, Any]) -> None:
        with self._log_lock:
            self._log.append(entry)

    # --- connections ----------------------------------------------------------------------

    def _open_connection(self, conn: socket.socket) -> int:
        with self._conn_lock:
            conn_id = self._next_conn
            self._next_conn += 1
            self._connections[conn] = conn_id
            return conn_id

    def _close_connection(self, conn: socket.socket) -> None:
        with self._conn_lock:
            self._connections.pop(conn, None)

    # --- API ----------------------------------------------------------------------------

    def _renderer(self) -> wire.Renderer:
        key = tuple(self._options[k] for k in _RENDER_OPTIONS)
        renderer = self._renderers.get(key)
        if renderer is None:
            renderer = self._renderers[key] = wire.Renderer(
                **{k: self._options[k] for k in _RENDER_OPTIONS}
            )
        return renderer

    def _api(self, method: str, path: str, query: str, headers: Any, connection_id: int) -> Reply:
        arrived = time.time()
        pairs = parse_qsl(query, keep_blank_values=True, errors="replace")
        params: dict[str, str] = {}
        for name, value in pairs:  # first occurrence wins
            params.setdefault(name, value)
        fault: str | None = None
        try:
            reply, fault = self._api_reply(method, path, query, params, headers)
        except Exception:  # noqa: BLE001 - a bug here should look like a WCF 500, not hang
            reply = Reply(500, wire.REQUEST_ERROR_HTML, "text/html; charset=UTF-8")
        self._record(
            {
                "method": method,
                "path": path,
                "params": params,
                "status": 0 if reply.action == "drop" else reply.status,
                "rows": reply.rows,
                "time": arrived,
                "fault": fault,
                "connection": connection_id,
            }
        )
        return reply

    def _api_reply(
        self, method: str, path: str, query: str, params: dict[str, str], headers: Any
    ) -> tuple[Reply, str | None]:
        # 1. faults that apply before auth: injected ones first (exactly the next
        #    requests), then the rate limiter, then random faults.
        _, fault = self._faults.next_injected()
        if fault is None:
            if not self._throttle.allow(headers.get("apikey") or ""):
                return self._throttle_reply(self._options["throttle_status"]), "throttle"
            fault = self._faults.next_random()
        if fault == "slow":
            time.sleep(float(self._options["slow_seconds"]))
        elif fault == "stall":
            # Nothing has been sent yet; stop() wakes the wait so it never blocks shutdown.
            self._stopping.wait(float(self._options["stall_seconds"]))
        elif fault in ("redirect", "redirect_301"):
            return self._redirect_reply(fault, path, query), fault
        elif fault is not None and fault not in ("truncate", "truncate_json"):
            return self._fault_reply(fault, params, headers), fault
        reply = self._route(method, path, params, headers)
        if fault in ("truncate", "truncate_json"):
            reply.action = fault
        return reply, fault

    def _throttle_reply(self, status: int) -> Reply:
        """A 503 (Litmos) or 429 throttle answer, with Retry-After when configured."""
        if status == 429:
            reply = Reply(
                429, wire.MSG_429.encode(), "text/plain; charset=utf-8", reason="Too Many Requests"
            )
        else:
            reply = Reply(503, wire.THROTTLED_HTML, "text/html; charset=utf-8", reason=wire.MSG_503)
        retry_after = self._options["retry_after"]
        if retry_after == "http-date":
            when = datetime.now(timezone.utc) + timedelta(
                seconds=int(self._options["retry_after_seconds"])
            )
            reply.headers["Retry-After"] = email.utils.format_datetime(when, usegmt=True)
        elif retry_after is not None:
            reply.headers["Retry-After"] = str(int(retry_after))
        return reply

    def _redirect_reply(self, kind: str, path: str, query: str) -> Reply:
        base = self._options["redirect_base"]
        if base is None:
            base = f"http://{self._options['host']}:{self.port}"
        location = base.rstrip("/") + path + ("?" + query if query else "")
        status = 301 if kind == "redirect_301" else 302
        body = (
            f"<html><head><title>Object moved</title></head><body><h2>Object moved to "
            f'<a href="{location}">here</a>.</h2></body></html>'
        ).encode()
        return Reply(status, body, "text/html; charset=utf-8", headers={"Location": location})

    def _fault_reply(self, kind: str, params: dict[str, str], headers: Any) -> Reply:
        if kind == "error_envelope":
            # A gateway or an auth layer answering 200 with an error object, not rows.
            message = "Authorization has been denied for this request."
            if params.get("format", "").lower() == "json":
                return _json_reply({"Errors": [{"Message": message}]})
            body = f"<Errors><Error><Message>{message}</Message></Error></Errors>".encode()
            return Reply(200, body, "application/xml; charset=utf-8")
        if kind == "echo_key_500":
            # An error page that quotes the request back, the API key with it.
            key = headers.get("apikey") or ""
            text = f"Request failed: apikey: {key}; url-encoded: {quote(key, safe='')}"
            return Reply(500, text.encode(), "text/plain; charset=utf-8", reason=text[:60])
        if kind == "drop":
            return Reply(0, action="drop")
        if kind == "500":
            return Reply(500, wire.REQUEST_ERROR_HTML, "text/html; charset=UTF-8")
        if kind in ("503", "429"):
            return self._throttle_reply(int(kind))
        if kind == "504":
            return Reply(504, wire.GATEWAY_TIMEOUT_HTML, "text/html")
        if kind == "401":
            return _text_error(401, wire.MSG_401)
        if kind == "403":
            return _text_error(403, wire.MSG_403)
        if kind == "404":
            return _text_error(404, wire.MSG_404)
        if kind == "200_garbage":
            return Reply(200, wire.REQUEST_ERROR_HTML, "text/html; charset=UTF-8")
        msg = f"no reply for fault {kind!r}"  # pragma: no cover
        raise ValueError(msg)  # pragma: no cover

    def _route(self, method: str, path: str, params: dict[str, str], headers: Any) -> Reply:
        # WCF matches URI templates case-insensitively; a trailing slash is tolerated.
        lowered = path.lower().rstrip("/")
        if lowered == API_PREFIX + "/achievements":
            if method != "GET":
                return _method_not_allowed()
            return self._forbid("achievements", headers) or self._achievements(params, headers)
        for pattern, ep, side in _ROUTES:
            m = pattern.fullmatch(path.rstrip("/"))
            if m is not None:
                if method != "GET":
                    return _method_not_allowed()
                stream = "ilt_sessions" if side is not None else ep.stream
                return self._forbid(stream, headers) or self._list(
                    ep, m.groupdict(), side, params, headers
                )
        return Reply(404, wire.ENDPOINT_NOT_FOUND_HTML, "text/html; charset=UTF-8")

    def _forbid(self, stream: str, headers: Any) -> Reply | None:
        """403 for an endpoint this key may not read (``forbidden``), after a valid key."""
        if stream in self._options["forbidden"] and headers.get("apikey") == self.api_key:
            return _text_error(403, wire.MSG_403_PERMISSION)
        return None

    def _common(
        self, raw: dict[str, str], headers: Any
    ) -> tuple[Reply | None, dict[str, str], int, int]:
        """Auth, source and paging shared by every list (§2, §4).

        Returns (error reply or None, lower-cased params, start, limit).
        """
        if headers.get("apikey") != self._options["api_key"]:
            return _text_error(401, wire.MSG_401), {}, 0, 0
        params: dict[str, str] = {}
        for name, value in raw.items():  # WCF binds query names case-insensitively
            params.setdefault(name.lower(), value)
        source = params.get("source", "")
        if not source or len(source) > MAX_SOURCE:
            return _text_error(403, wire.MSG_403), params, 0, 0
        limit = _int_param(params, "limit", DEFAULT_LIMIT)
        start = _int_param(params, "start", 0)
        if limit is None or start is None:
            return _text_error(400, wire.MSG_400), params, 0, 0
        if limit > MAX_LIMIT:
            return _text_error(406, wire.MSG_406_LIMIT), params, 0, 0
        return None, params, start, limit

    def _range(
        self, params: dict[str, str], *, required: bool
    ) -> tuple[Reply | None, datetime | None, datetime | None]:
        """since/to of the date-range family (§5.1): both, valid formats, <= 7 days."""
        since_text, to_text = params.get("since", ""), params.get("to", "")
        if not required and not since_text and not to_text:
            return None, None, None
        since = parse_since(since_text) if since_text else None
        until = parse_since(to_text) if to_text else None
        if since is None or until is None or until < since or until - since > MAX_RANGE:
            return _text_error(406, wire.MSG_406_RANGE), None, None
        return None, since, until

    def _list(
        self,
        ep: S.Endpoint,
        path_params: dict[str, str],
        side: bool | None,
        raw: dict[str, str],
        headers: Any,
    ) -> Reply:
        """The one generic list handler: every endpoint but achievements."""
        error, params, start, limit = self._common(raw, headers)
        if error is not None:
            return error
        opts = self._options
        world = self._world
        count = limit + opts["extra_rows"] if limit > 0 else 0
        with world.lock:
            if ep.family == "org":
                error, since, until = self._range(params, required=True)
                if error is not None:
                    return error
                rows = world.tables[ep.stream].window(
                    since,
                    until,
                    lo_incl=opts["org_since_inclusive"],  # type: ignore[arg-type]
                    hi_incl=opts["org_to_inclusive"],
                    start=start,
                    count=count,
                    order=opts["org_order"],
                )
            else:
                if ep.family == "ilt":
                    error, since, until = self._range(params, required=False)
                    if error is not None:
                        return error
                    rows = world.sessions_tree(
                        past=bool(side), now=self.now(), since=since, until=until
                    )
                elif ep.family == "child":
                    error, rows = self._child_rows(ep, path_params)
                    if error is not None:
                        return error
                else:
                    rows = world.tables[ep.stream].ordered()
                    if ep.sortable:
                        error, rows = self._snapshot_filters(ep, rows, params)
                        if error is not None:
                            return error
                rows = _search(ep, rows, params.get("search", ""))
                rows = rows[start : start + count]
        renderer = self._page_renderer()
        extra = opts["extra_fields"]
        if params.get("format", "").lower() == "json":
            body = self._wrap(ep.root, renderer.json_page(ep, rows, self._raw, extra))
            return Reply(200, body, wire.JSON_CONTENT_TYPE, rows=len(rows))
        body = renderer.xml_page(ep, rows, self._raw, extra)
        return Reply(200, body, wire.XML_CONTENT_TYPE, rows=len(rows))

    def _child_rows(
        self, ep: S.Endpoint, path_params: dict[str, str]
    ) -> tuple[Reply | None, list[tuple]]:
        world = self._world
        if ep.stream == "user_badges":
            user_id = path_params["UserId"]
            if user_id not in world.tables["users"].rows:
                return _text_error(404, wire.msg_user_not_found(user_id)), []
            pos = ep.pos("UserId")
            return None, [r for r in world.tables[ep.stream].ordered() if r[pos] == user_id]
        cid, mid, sid = path_params["CourseId"], path_params["ModuleId"], path_params["SessionId"]
        problem = world.session_parent_ok(cid, mid, sid)
        if problem is not None:
            return _text_error(404, problem), []
        pos = ep.pos("SessionId")
        return None, [r for r in world.tables[ep.stream].ordered() if r[pos] == sid]

    @staticmethod
    def _snapshot_filters(
        ep: S.Endpoint, rows: list[tuple], params: dict[str, str]
    ) -> tuple[Reply | None, list[tuple]]:
        """/users/details: since (CreatedDate >= since, §5.2) and sort/dir (§4)."""
        if params.get("since"):
            since = parse_since(params["since"])
            if since is None:
                return _text_error(406, wire.MSG_406_SINCE), []
            pos = ep.pos(ep.date_field or "CreatedDate")
            rows = [r for r in rows if r[pos] is not None and r[pos] >= since]
        sort = params.get("sort", "")
        names = {n.lower(): n for n in ep.names}
        if sort.lower() in names and ep.field(names[sort.lower()]).kind != "list":
            pos = ep.pos(names[sort.lower()])
            desc = params.get("dir", "").upper() == "DESC"
            present = sorted(
                (r for r in rows if r[pos] is not None), key=lambda r: r[pos], reverse=desc
            )
            missing = [r for r in rows if r[pos] is None]
            rows = present + missing if not desc else missing + present
        return None, rows

    def _wrap(self, root: str, body: bytes) -> bytes:
        """With ``json_wrapped``, a JSON page as ``{"<XML root>": [...]}`` (SAP-OAS's shape)."""
        if not self._options["json_wrapped"]:
            return body
        return b'{"' + root.encode() + b'":' + body + b"}"

    def _page_renderer(self) -> PageRenderer:
        key = tuple(self._options[k] for k in _RENDER_OPTIONS)
        renderer = self._page_renderers.get(key)
        if renderer is None:
            renderer = self._page_renderers[key] = PageRenderer(
                **{k: self._options[k] for k in _RENDER_OPTIONS}
            )
        return renderer

    def _achievements(self, raw: dict[str, str], headers: Any) -> Reply:
        opts = self._options
        # 2. the key travels only in the `apikey` header (§2: query keys stopped in 2019).
        if headers.get("apikey") != opts["api_key"]:
            return _text_error(401, wire.MSG_401)
        # Query names are matched case-insensitively, like WCF's UriTemplate.
        params = {}
        for name, value in raw.items():
            params.setdefault(name.lower(), value)
        # 3. source: required, 1..50 characters (§2).
        source = params.get("source", "")
        if not source or len(source) > MAX_SOURCE:
            return _text_error(403, wire.MSG_403)
        # 4. paging (§4). An empty value counts as absent.
        limit = _int_param(params, "limit", DEFAULT_LIMIT)
        if limit is None:
            return _text_error(400, wire.MSG_400)
        if limit > MAX_LIMIT:
            return _text_error(406, wire.MSG_406_LIMIT)
        start = _int_param(params, "start", 0)
        if start is None:
            return _text_error(400, wire.MSG_400)
        # 5. since: a UTC wall clock, inclusive (§5.2; "Project decision").
        since = None
        if params.get("since"):
            since = parse_since(params["since"])
            if since is None:
                return _text_error(406, wire.MSG_406_SINCE)
        # 6. userid (§6.4).
        user_id = params.get("userid") or None
        if user_id is not None and not self._dataset.has_user(user_id):
            return _text_error(404, wire.msg_user_not_found(user_id))
        # 7. sort, dir and search are accepted and ignored: the order is always newest
        #    first, ties by AchievementId desc (§4 "Ordering guarantees").
        # "More rows than limit" quirk (§4, §9 item 2): extra_rows > 0 adds rows.
        count = limit + opts["extra_rows"] if limit > 0 else 0
        rows = self._dataset.query_stored(user_id=user_id, since=since, start=start, count=count)
        renderer = self._renderer()
        raw = self._raw_for("achievements")
        extra = opts["extra_fields"]
        if params.get("format", "").lower() == "json":
            body = self._wrap("Achievements", renderer.json_page(rows, raw, extra))
            return Reply(200, body, wire.JSON_CONTENT_TYPE, rows=len(rows))
        body = renderer.xml_page(rows, raw, extra)
        return Reply(200, body, wire.XML_CONTENT_TYPE, rows=len(rows))

    # --- admin routes (no auth, not logged, no faults) --------------------------------------

    def _admin(self, method: str, path: str, body: bytes, query: str = "") -> Reply:
        route = (method, path.rstrip("/"))
        stream = dict(parse_qsl(query)).get("stream", "achievements")
        try:
            payload = json.loads(body) if body.strip() else {}
        except ValueError as exc:
            return _json_reply({"error": f"invalid JSON body: {exc}"}, 400)
        try:
            if route == ("GET", "/_sandbox/requests"):
                return _json_reply(self.requests)
            if route == ("POST", "/_sandbox/reset-log"):
                self.reset_log()
                return _json_reply({"ok": True})
            if route == ("GET", "/_sandbox/truth"):
                return _json_reply([_jsonable(t) for t in self.truth(stream)])
            if route == ("GET", "/_sandbox/spec"):
                if "stream" in dict(parse_qsl(query)):
                    return _json_reply(self.spec(stream).describe())
                return _json_reply([ep.describe() for ep in S.ENDPOINTS.values()])
            if route == ("POST", "/_sandbox/add"):
                row = self.add(str(payload["stream"]), **payload.get("fields", {}))
                return _json_reply(_jsonable(row), 201)
            if route == ("POST", "/_sandbox/touch"):
                row = self.touch(
                    str(payload["stream"]), payload["key"], **payload.get("fields", {})
                )
                return _json_reply(_jsonable(row))
            if route == ("POST", "/_sandbox/remove-link"):
                row = self.remove_link(str(payload["stream"]), payload["key"])
                return _json_reply(_jsonable(row))
            if route == ("POST", "/_sandbox/delete-user"):
                self.delete_user(str(payload["user_id"]))
                return _json_reply({"ok": True})
            if route == ("POST", "/_sandbox/set-raw"):
                self.set_raw(
                    str(payload["stream"]),
                    payload["key"],
                    str(payload["field"]),
                    str(payload["raw"]),
                )
                return _json_reply({"ok": True})
            if route == ("POST", "/_sandbox/clear-raw"):
                self.clear_raw()
                return _json_reply({"ok": True})
            if route == ("GET", "/_sandbox/users"):
                return _json_reply(
                    [
                        {"UserId": u, "FirstName": f, "LastName": la}
                        for u, f, la in self._dataset.users
                    ]
                )
            if route == ("POST", "/_sandbox/achievements"):
                fields = dict(payload)
                count = int(fields.pop("count", 1))
                created = self.add_achievements(count, **fields)
                return _json_reply([truth_to_json(a.to_truth()) for a in created], 201)
            if route == ("GET", "/_sandbox/configure"):
                return _json_reply(self._options_json())
            if route == ("POST", "/_sandbox/configure"):
                self.configure(**payload)
                return _json_reply(self._options_json())
            if route == ("POST", "/_sandbox/inject"):
                self.inject(
                    str(payload.get("kind", "")),
                    int(payload.get("count", 1)),
                    after=int(payload.get("after", 0)),
                )
                return _json_reply({"pending": self.pending_faults})
            if route == ("POST", "/_sandbox/clear-faults"):
                self.clear_faults()
                return _json_reply({"pending": []})
        except (TypeError, ValueError, KeyError) as exc:
            return _json_reply({"error": str(exc)}, 400)
        return _json_reply({"error": f"no sandbox route {method} {path}"}, 404)

    def _options_json(self) -> dict[str, Any]:
        out = dict(self._options)
        out["fault_kinds"] = list(out["fault_kinds"])
        if out["now"] is not None:
            out["now"] = out["now"].isoformat()
        return out


def _forbidden_streams(names: Any) -> tuple[str, ...]:
    """Stream names (or API paths) this key may not read, as stream names."""
    if isinstance(names, str):
        names = [names]
    streams = (_stream_name(str(name)) for name in names)
    return tuple("ilt_sessions" if s == "ilt_tree" else s for s in streams)


def _jsonable(row: dict[str, Any]) -> dict[str, Any]:
    """A truth row for JSON: dates ``YYYY-MM-DDTHH:MM:SS.mmmZ``, decimals as text."""
    out = truth_to_json(row) if "AchievementDate" in row else dict(row)
    for name, value in out.items():
        if isinstance(value, datetime):
            out[name] = value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
        elif isinstance(value, Decimal):
            out[name] = str(value)
    return out
