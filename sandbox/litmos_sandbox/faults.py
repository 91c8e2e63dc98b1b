"""Throttling and injected faults: the unreliable parts of talking to Litmos.

docs/litmos-api.md §7: the key is limited to 100 requests per minute; a throttled request
gets HTTP 503 "Service Unavailable. The API rating limit has been exceeded." with no
Retry-After header. BATON retries 503 and 504 "because the Litmos API is flaky", and
the WCF 500 "Request Error" page is a known answer (§8). The faults here let a client's
retry and error handling be tested against those shapes.
"""

from __future__ import annotations

import random
import threading
import time
from collections import deque
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

#: Every fault kind the sandbox understands.
FAULT_KINDS: frozenset[str] = frozenset(
    {
        "500",  # WCF "Request Error" HTML page
        "503",  # as the throttle answer
        "429",  # Too Many Requests (the throttle status some report; docs/litmos-api.md §7)
        "504",  # gateway timeout page
        "401",  # as a bad API key
        "403",  # as a missing source
        "404",  # "Not Found. The record you requested does not exist."
        "drop",  # close the connection, send nothing
        "truncate",  # full Content-Length, half the body, then close
        "truncate_json",  # half the body with a matching Content-Length
        "slow",  # sleep slow_seconds, then answer normally
        "stall",  # sleep stall_seconds before sending any byte, then answer normally
        "redirect",  # 302 to <redirect_base><path>?<query>
        "redirect_301",  # 301 to <redirect_base><path>?<query>
        "200_garbage",  # 200 with the WCF error page as text/html
        "error_envelope",  # 200 with {"Errors": [{"Message": ...}]} (or XML) instead of rows
        "echo_key_500",  # 500 whose text (and reason phrase) quotes the apikey header back
    }
)
DEFAULT_RANDOM_KINDS: tuple[str, ...] = ("500", "503", "504", "drop", "truncate")


def check_kinds(kinds: Iterable[str]) -> tuple[str, ...]:
    """Validate fault kind names; return them as a tuple."""
    out = tuple(str(k) for k in kinds)
    unknown = [k for k in out if k not in FAULT_KINDS]
    if unknown:
        msg = f"unknown fault kind(s) {unknown}; known: {sorted(FAULT_KINDS)}"
        raise ValueError(msg)
    return out


class Throttle:
    """Sliding-window request limit per API key (docs/litmos-api.md §7: 100 per minute).

    Requests that are refused do not count, so a client that backs off recovers once
    the window has slid past its earlier requests.
    """

    def __init__(
        self,
        per_window: int | None,
        window_seconds: float = 60.0,
        clock: Callable[[], float] | None = None,
    ) -> None:
        """``per_window=None`` disables throttling; ``clock`` defaults to time.monotonic."""
        self.per_window = per_window
        self.window_seconds = window_seconds
        self._clock = clock or time.monotonic
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def allow(self, key: str) -> bool:
        """Record a request for ``key`` and say whether it may proceed."""
        if self.per_window is None:
            return True
        now = self._clock()
        with self._lock:
            hits = self._hits.setdefault(key, deque())
            horizon = now - self.window_seconds
            while hits and hits[0] <= horizon:
                hits.popleft()
            if len(hits) >= self.per_window:
                return False
            hits.append(now)
            return True

    def reset(self) -> None:
        """Forget every recorded request."""
        with self._lock:
            self._hits.clear()


class FaultPlan:
    """One-shot injected faults (FIFO) plus seeded random faults.

    Injected faults go to the very next API requests, one each, in order. Random faults
    use their own ``random.Random(seed)``, so a run with the same seed and the same
    request sequence sees the same faults.
    """

    def __init__(
        self,
        rate: float = 0.0,
        kinds: Iterable[str] = DEFAULT_RANDOM_KINDS,
        seed: int = 0,
    ) -> None:
        """Set up random faults with probability ``rate`` per request."""
        self._lock = threading.Lock()
        self._queue: deque[str | None] = deque()
        self.configure(rate=rate, kinds=kinds, seed=seed)

    def configure(
        self,
        *,
        rate: float | None = None,
        kinds: Iterable[str] | None = None,
        seed: int | None = None,
    ) -> None:
        """Change the random-fault settings (a new seed restarts the sequence)."""
        with self._lock:
            if rate is not None:
                if not 0.0 <= rate <= 1.0:
                    msg = "fault_rate must be between 0 and 1"
                    raise ValueError(msg)
                self.rate = float(rate)
            if kinds is not None:
                self.kinds = check_kinds(kinds)
                if not self.kinds:
                    msg = "fault_kinds must not be empty"
                    raise ValueError(msg)
            if seed is not None:
                self.seed = seed
                self._rng = random.Random(seed)

    def inject(self, kind: str, count: int = 1, after: int = 0) -> None:
        """Queue ``count`` faults of ``kind``, after ``after`` fault-free requests.

        Slots are FIFO behind anything queued earlier. A fault-free slot (``None`` in
        :meth:`pending`) lets its request through to the throttle and random faults.
        """
        (kind,) = check_kinds([kind])
        if count < 0 or after < 0:
            msg = "count and after must be >= 0"
            raise ValueError(msg)
        with self._lock:
            self._queue.extend([None] * after)
            self._queue.extend([kind] * count)

    def pending(self) -> list[str | None]:
        """Injected slots not yet consumed, in order (None: a fault-free slot)."""
        with self._lock:
            return list(self._queue)

    def clear(self) -> None:
        """Drop every queued fault."""
        with self._lock:
            self._queue.clear()

    def next_injected(self) -> tuple[bool, str | None]:
        """Consume the next injected slot: (was a slot consumed, its fault or None)."""
        with self._lock:
            if not self._queue:
                return False, None
            return True, self._queue.popleft()

    def next_random(self) -> str | None:
        """Draw a random fault (or None) for one request."""
        with self._lock:
            if self.rate <= 0.0:
                return None
            if self._rng.random() >= self.rate:
                return None
            return self._rng.choice(self.kinds)
