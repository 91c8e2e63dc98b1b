"""The client-side request budget: at most N request attempts in any 60 s, per API key.

Litmos allows 100 requests per minute per API key and answers the 101st with a 503
that carries no Retry-After (docs/litmos-api.md §7). Waiting a whole minute after each
throttle wastes far more time than pacing ourselves, so every attempt first takes a
slot in a sliding 60-second window (pyrate-limiter's sliding-window log).

Where the window is kept (`rate_limit_backend`):

- unset or empty: in this process (pyrate-limiter's `InMemoryBucket`);
- a file path: an SQLite file that every tap process on this machine naming the same
  file shares (`SQLiteBucket`, serialised across processes by a lock file beside it,
  `<path>.lock`); timestamps are the machine's wall clock;
- a `redis://` or `rediss://` URL: a Redis server that taps on several machines share
  (`RedisBucket`, an atomic Lua check-and-insert); timestamps come from the Redis
  server's own clock, so the machines' clocks need not agree.

In the shared backends a budget is named by a hash of the API key
(`tap-litmos:` + 16 hex digits of its SHA-256): the key itself is never stored. All
processes on the same backend and key stay inside the limit together (each admits an
attempt only while the shared window holds fewer than its own `max_per_minute`).

pyrate-limiter's `Limiter` is not used: it sleeps with `time.sleep` and reads
`time.monotonic` directly and starts a background "leaker" thread. The buckets give
the same window with injectable time, so tests run on a fake clock, and the few lines
of blocking below count the time waited for the run summary.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import sqlite3
import threading
import time
import typing as t
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

import filelock
from pyrate_limiter import InMemoryBucket, Rate, RateItem, RedisBucket, SQLiteBucket

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    import redis
    from typing_extensions import Self

BUDGET_PREFIX = "tap-litmos:"
#: How long a budget file's lock may take: other taps hold it for milliseconds.
LOCK_WAIT_SECONDS = 10.0
_ITEM_NAME = "request"  # what each stored entry is called (never the key)
_REDIS_SCHEMES = ("redis", "rediss")
_SQLITE_MAGIC = b"SQLite format 3\x00"


class RateLimitBackendError(Exception):
    """The shared budget's file or Redis server failed.

    The message is one line naming the backend (a Redis password masked) and the failure.
    """


def budget_name(api_key: str) -> str:
    """The budget's name in a shared backend: a hash of the API key, never the key."""
    return BUDGET_PREFIX + hashlib.sha256(api_key.encode()).hexdigest()[:16]


class _Backend(t.NamedTuple):
    kind: t.Literal["memory", "file", "redis"]
    target: str  # the file path or the full Redis URL ("" in-process)
    shown: str  # safe to print: the path, or the URL with its password masked


def backend_problem(value: object) -> str | None:
    """None if `value` is a usable rate_limit_backend setting, else a one-line reason.

    Usable: None or "" (in-process), a file path (absolute or relative to the working
    directory, in an existing directory), or a redis://host:port/db URL (rediss:// for
    TLS). A Redis password is never echoed.
    """
    try:
        _parse_backend(value)
    except ValueError as exc:
        return str(exc)
    return None


def _parse_backend(value: object) -> _Backend:
    if value is None or value == "":
        return _Backend("memory", "", "in-process")
    if not isinstance(value, str):
        msg = f"must be a file path or a redis:// URL, got {type(value).__name__}"
        raise ValueError(msg)  # noqa: TRY004  (a setting's reason, not a type error)
    if value != value.strip():
        msg = "must not start or end with spaces"
        raise ValueError(msg)
    scheme = value.split(":", 1)[0].lower() if ":" in value else ""
    if "://" in value or scheme in _REDIS_SCHEMES:
        return _parse_redis_url(value)
    return _parse_file_path(value)


def _parse_redis_url(value: str) -> _Backend:
    shown = mask_url(value)
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError as exc:
        msg = f"{shown} is not a valid URL: {mask_text(str(exc), value)}"
        raise ValueError(msg) from None
    if parts.scheme not in _REDIS_SCHEMES:  # urlsplit lowercases it
        msg = (
            f"{shown}: unsupported scheme {parts.scheme!r}; use a file path,"
            " a redis://host:port/db URL or rediss:// for TLS"
        )
        raise ValueError(msg)
    if not parts.hostname:
        msg = f"{shown} has no host; use redis://host:port/db"
        raise ValueError(msg)
    if port == 0:
        msg = f"{shown} has port 0"
        raise ValueError(msg)
    if parts.path not in ("", "/") and not re.fullmatch(r"/\d+", parts.path):
        msg = f"{shown}: the database after the host must be a number, such as /0"
        raise ValueError(msg)
    value = parts.scheme + value[len(parts.scheme) :]  # redis-py wants it in lower case
    from redis.connection import parse_url  # noqa: PLC0415  (only Redis users pay for it)

    try:
        parse_url(value)  # type: ignore[no-untyped-call]  # unannotated in redis-py
    except ValueError as exc:
        msg = f"{shown}: {mask_text(str(exc), value)}"
        raise ValueError(msg) from None
    return _Backend("redis", value, shown)


def _parse_file_path(value: str) -> _Backend:
    if "\x00" in value:
        msg = "must not contain a NUL character"
        raise ValueError(msg)
    path = Path(value).expanduser()
    shown = str(path)
    try:
        problem = _file_problem(path)
    except OSError as exc:
        problem = f"cannot be used ({exc.strerror or exc})"
    if problem:
        msg = f"{shown} {problem}"
        raise ValueError(msg)
    return _Backend("file", str(path.absolute()), shown)


def _file_problem(path: Path) -> str:
    if path.is_dir():
        return f"is a directory; name a file in it, such as {path / 'litmos-budget.db'}"
    folder = path.parent
    if not folder.is_dir():
        return f"is in a directory that does not exist ({folder})"
    if not path.exists():
        writable = os.access(folder, os.W_OK | os.X_OK)
        return "" if writable else f"is in a directory that is not writable ({folder})"
    with path.open("rb") as file:
        head = file.read(len(_SQLITE_MAGIC))
    if head and head != _SQLITE_MAGIC:
        return "exists and is not an SQLite file; name a new file for the budget"
    return "" if os.access(path, os.R_OK | os.W_OK) else "is not writable"


def mask_url(url: str) -> str:
    """`url` with any password (in the user part or a `password=` option) shown as ***."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:  # not parsable: mask what sits between "user:" and "@"
        return re.sub(r"(//[^:/@]*:)[^@/]*@", r"\1***@", url)
    masked = url
    if password is not None:
        userinfo = parts.netloc.rsplit("@", 1)[0]
        user = userinfo.split(":", 1)[0]
        masked = masked.replace(f"//{userinfo}@", f"//{user}:***@", 1)
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    if any(k.lower() == "password" for k, _ in pairs):
        query = urlencode([(k, "***" if k.lower() == "password" else v) for k, v in pairs])
        masked = masked.replace(f"?{parts.query}", f"?{query.replace('%2A', '*')}", 1)
    return masked


def backend_passwords(url: str) -> set[str]:
    """Every password `url` carries (user part or `password=` option), also URL-decoded."""
    try:
        parts = urlsplit(url)
        secrets = {parts.password or ""}
    except ValueError:  # not parsable: take what sits between "user:" and "@"
        found = re.search(r"//[^:/@]*:([^@/]*)@", url)
        secrets = {found.group(1) if found else ""}
        parts = None
    if parts is not None:
        pairs = parse_qsl(parts.query, keep_blank_values=True)
        secrets.update(v for k, v in pairs if k.lower() == "password")
    secrets.update({unquote(secret) for secret in secrets})  # as redis-py decodes it
    return secrets - {""}


def mask_text(text: str, url: str) -> str:
    """`text` with the password of `url` (if any) replaced by ***."""
    for secret in sorted(backend_passwords(url), key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


class RequestBudget:
    """At most `max_per_minute` request attempts in any 60 s, shared per backend and API key.

    `acquire()` blocks until an attempt may be sent and counts it. `max_per_minute` 0
    (or less) means no limit: `acquire()` returns at once and no backend is opened.
    The backend is opened on the first `acquire()` (so building a budget never fails on
    a Redis server that is down) and reopened by an `acquire()` after `close()`.

    `clock` (seconds, a float) and `sleep` replace the time source and the wait, for
    tests. The default clock is time.monotonic in-process, the wall clock for a file,
    and the Redis server's TIME for Redis. `period` (seconds) replaces the 60 s window,
    for tests of real processes.
    """

    waited: float  # total seconds this process spent blocked in acquire()
    acquired: int  # acquire() calls that returned: attempts sent

    def __init__(  # noqa: PLR0913
        self,
        max_per_minute: int,
        api_key: str,
        backend: str | None = None,
        *,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], None] | None = None,
        period: float = 60.0,
    ) -> None:
        """Check `backend` (ValueError naming the problem); open nothing yet."""
        self._backend = _parse_backend(backend)
        self.max_per_minute = max_per_minute
        self.period = period
        self.backend = self._backend.shown  # safe to log: a Redis password is masked
        self.waited = 0.0
        self.acquired = 0
        self._name = budget_name(api_key)
        self._clock = clock
        self._sleep = sleep
        self._period_ms = max(1, round(period * 1000))
        self._lock = threading.Lock()
        self._bucket: InMemoryBucket | SQLiteBucket | RedisBucket | None = None
        self._redis: redis.Redis | None = None

    def __repr__(self) -> str:
        """Limit and backend, without the key or a Redis password."""
        return f"RequestBudget({self.max_per_minute} per {self.period:g} s, {self.backend})"

    def __enter__(self) -> Self:  # noqa: D105
        return self

    def __exit__(self, *exc_info: object) -> None:  # noqa: D105
        self.close()

    def acquire(self) -> None:
        """Block until one more attempt fits in the window, then count it."""
        if self.max_per_minute <= 0:
            self.acquired += 1
            return
        with self._lock, self._backend_errors():
            if self._bucket is None:
                self._bucket = self._open()
            while True:
                now = self._now_ms()
                item = RateItem(_ITEM_NAME, now)
                if self._put(item):
                    break
                # A sync bucket (sync Redis client) answers an int, never an Awaitable.
                wait_ms = t.cast("int", self._bucket.waiting(item))
                seconds = max(int(wait_ms), 1) / 1000
                self.waited += seconds
                (self._sleep or time.sleep)(seconds)
            self._forget_old(self._bucket, now)
            self.acquired += 1

    def close(self) -> None:
        """Release the file or the Redis connection (idempotent).

        The in-process window is kept: closing never lets a later acquire() exceed it.
        """
        with self._lock:
            if self._backend.kind == "memory":
                return
            bucket, client = self._bucket, self._redis
            self._bucket = self._redis = None
            with contextlib.suppress(Exception):
                if isinstance(bucket, SQLiteBucket):
                    bucket.close()  # type: ignore[no-untyped-call]  # unannotated in pyrate-limiter
                if client is not None:
                    client.close()

    # --- The backends --------------------------------------------------------------

    def _open(self) -> InMemoryBucket | SQLiteBucket | RedisBucket:
        rates = [Rate(self.max_per_minute, self._period_ms)]
        if self._backend.kind == "memory":
            return InMemoryBucket(rates)
        if self._backend.kind == "file":
            self._check_lockable(self._backend.target)
            bucket = SQLiteBucket.init_from_file(
                rates, table=self._name, db_path=self._backend.target, use_file_lock=True
            )
            if bucket.lock is not None:  # a later wait is bounded too (filelock.Timeout)
                # use_file_lock=True makes it a FileLock; pyrate-limiter types it RLock.
                t.cast("filelock.FileLock", bucket.lock).timeout = LOCK_WAIT_SECONDS
            return bucket
        import redis  # noqa: PLC0415  (only Redis users pay for it)

        client = redis.Redis.from_url(
            self._backend.target, socket_connect_timeout=10, socket_timeout=30
        )
        try:
            # init is unannotated; with a sync client it makes a RedisBucket (not a coroutine).
            redis_bucket = t.cast("RedisBucket", RedisBucket.init(rates, client, self._name))
        except BaseException:
            client.close()
            raise
        self._redis = client
        return redis_bucket

    @staticmethod
    def _check_lockable(path: str) -> None:
        """Take the budget file's lock once, waiting at most `LOCK_WAIT_SECONDS`.

        pyrate-limiter waits for it without a limit, and on a path where locking never
        succeeds (a read-only or special file system) that would hang the run forever.
        """
        lock = filelock.FileLock(path + ".lock", timeout=LOCK_WAIT_SECONDS)
        try:
            with lock:
                pass
        except filelock.Timeout as exc:
            msg = (
                f"Setting 'rate_limit_backend': could not lock {path}.lock within"
                f" {LOCK_WAIT_SECONDS:g} s; name a file on a local, writable file system"
            )
            raise RateLimitBackendError(msg) from exc

    def _now_ms(self) -> int:
        if self._clock is not None:
            return round(self._clock() * 1000)
        if self._redis is not None:  # the server's clock: machines' clocks may differ
            seconds, micros = self._redis.time()
            return int(seconds) * 1000 + int(micros) // 1000
        if self._backend.kind == "file":  # shared by processes, and kept across reboots
            return round(time.time() * 1000)
        return round(time.monotonic() * 1000)

    def _put(self, item: RateItem) -> bool:
        """Check and record one attempt, atomically across the processes sharing it."""
        if self._redis is None:
            return bool(self._bucket.put(item))  # type: ignore[union-attr]  # acquire() opened it
        import redis  # noqa: PLC0415

        try:
            return bool(self._bucket.put(item))  # type: ignore[union-attr]  # acquire() opened it
        except redis.exceptions.NoScriptError:  # the server restarted or flushed its scripts
            self._bucket = RedisBucket.init(self._bucket.rates, self._redis, self._name)  # type: ignore[union-attr]  # acquire() opened it
            return bool(self._bucket.put(item))

    def _forget_old(self, bucket: InMemoryBucket | SQLiteBucket | RedisBucket, now: int) -> None:
        """Drop entries older than the window; a Redis budget expires when unused."""
        bucket.leak(now)
        if self._redis is not None:
            self._redis.pexpire(self._name, 2 * self._period_ms)

    @contextlib.contextmanager
    def _backend_errors(self) -> Iterator[None]:
        """Turn a failing file or Redis server into one RateLimitBackendError line."""
        if self._backend.kind == "memory":
            yield
            return
        failures: tuple[type[Exception], ...] = (sqlite3.Error, OSError)
        if self._backend.kind == "redis":
            import redis  # noqa: PLC0415

            failures = (redis.exceptions.RedisError, OSError)
        try:
            yield
        except failures as exc:
            reason = mask_text(" ".join(str(exc).split()), self._backend.target)
            kind = "Redis" if self._backend.kind == "redis" else "file"
            msg = (
                f"Rate limit backend ({kind} {self.backend}) failed:"
                f" {type(exc).__name__}: {reason or 'no detail'}"
            )
            raise RateLimitBackendError(msg) from exc
