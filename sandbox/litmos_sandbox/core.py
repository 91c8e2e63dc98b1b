"""The sandbox itself: its lifecycle, options, data and the control API tests drive.

:class:`SandboxCore` holds the state (options, the achievements dataset, the world,
faults, the request log, open connections) and the Python API to change it; the Litmos
API (``api.py``) and the admin API (``admin.py``) answer HTTP requests from it.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from litmos_sandbox import spec as S  # noqa: N812
from litmos_sandbox.data import Achievement, Dataset
from litmos_sandbox.faults import FaultPlan, Throttle
from litmos_sandbox.options import Options
from litmos_sandbox.routes import API_PREFIX, stream_name
from litmos_sandbox.server import Handler, Server
from litmos_sandbox.world import Sizes, World

if TYPE_CHECKING:
    from typing_extensions import Self

    from litmos_sandbox.render import PageRenderer


def _norm_key(key: Any) -> Any:
    if isinstance(key, list):
        return tuple(key)
    if isinstance(key, str) and key.isdigit():
        return int(key)
    return key


class SandboxCore:
    """State, lifecycle and control API of one sandbox (see :class:`LitmosSandbox`)."""

    def __init__(self, options: Options | None = None, /, **changes: Any) -> None:
        """Generate the dataset; call :meth:`start` (or use ``with``) to serve it.

        ``changes`` are option keywords (:class:`~litmos_sandbox.options.Options`) applied
        to ``options`` (default: every option's default).
        """
        self._options = (options or Options()).replace(**changes)
        o = self._options
        self._dataset = Dataset.generate(o.seed, o.users, o.achievements, id_seed=o.id_seed)
        self._world = self._make_world()
        self._page_renderers: dict[tuple, PageRenderer] = {}
        self._throttle = Throttle(o.throttle_per_minute, o.throttle_window_seconds)
        self._faults = FaultPlan(o.fault_rate, o.fault_kinds, o.fault_seed)
        self._log: list[dict[str, Any]] = []
        self._log_lock = threading.Lock()
        self._conn_lock = threading.Lock()
        self._connections: dict[socket.socket, int] = {}
        self._next_conn = 1
        self._server: Server | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()  # wakes stalled handlers on stop()
        self._raw: dict[str, dict[Any, dict[str, str]]] = {}

    # --- lifecycle ----------------------------------------------------------------------

    def start(self) -> Self:
        """Bind and serve in a daemon thread; returns self."""
        if self._server is not None:
            return self
        self._stopping.clear()
        server = Server((self._options.host, self._options.port), Handler)
        server.sandbox = self  # type: ignore[assignment]  # a LitmosSandbox (sandbox.py)
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

    def __enter__(self) -> Self:
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
        return f"http://{self._options.host}:{self.port}{API_PREFIX}"

    @property
    def api_key(self) -> str:
        """The API key the server accepts."""
        return self._options.api_key

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
        stream = stream_name(endpoint)
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

    # --- the world: every other endpoint --------------------------------------------------

    def _make_world(self) -> World:
        o = self._options
        anchor = o.now or datetime.now(timezone.utc).replace(
            tzinfo=None, hour=0, minute=0, second=0, microsecond=0
        )
        sizes = Sizes(
            o.users,
            o.teams,
            o.courses,
            o.learning_paths,
            o.course_results,
            o.module_results,
            o.logins,
        )
        return World.generate(self._dataset, o.seed, sizes, anchor, id_seed=o.id_seed)

    @property
    def world(self) -> World:
        """The generated account behind every endpoint but achievements."""
        return self._world

    def now(self) -> datetime:
        """The sandbox clock: the ``now`` option if set, else the real UTC time (naive, ms).

        Either is moved by ``clock_offset_seconds``, as the ``Date`` header is.
        """
        offset = timedelta(seconds=float(self._options.clock_offset_seconds))
        fixed = self._options.now
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
        """A copy of the current options, by name."""
        return self._options.as_dict()

    @property
    def settings(self) -> Options:
        """The current options (frozen; change them with :meth:`configure`)."""
        return self._options

    def configure(self, **changes: Any) -> None:
        """Change options at runtime (validated as a whole, like the constructor's).

        Changing seed/users/achievements regenerates the dataset and the world; a world
        option (sizes, ``now``) the world; host and port cannot change while serving.
        """
        old = self._options
        new = old.replace(**changes)
        if self._server is not None:
            for name in Options.names("fixed"):
                if name in changes and getattr(new, name) != getattr(old, name):
                    msg = f"{name} cannot change while the sandbox is running"
                    raise ValueError(msg)
        self._options = new
        regenerate = new.changed(old, "dataset")
        if regenerate:
            self._dataset = Dataset.generate(
                new.seed, new.users, new.achievements, id_seed=new.id_seed
            )
            self._page_renderers = {}  # their cached achievements are the old dataset's
        if regenerate or new.changed(old, "world"):
            self._world = self._make_world()
        self._throttle.per_window = new.throttle_per_minute
        self._throttle.window_seconds = float(new.throttle_window_seconds)
        self._faults.configure(
            rate=float(new.fault_rate),
            kinds=new.fault_kinds,
            seed=new.fault_seed if "fault_seed" in changes else None,
        )

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
