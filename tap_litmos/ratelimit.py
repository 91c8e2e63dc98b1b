"""A client-side request budget shared by every stream of one tap run.

Litmos allows 100 requests per minute per API key and answers the 101st with a 503
that carries no Retry-After (litmos-api.md §7). Waiting a whole minute after each
throttle wastes far more time than pacing ourselves, so every request first takes a
slot in a sliding 60-second window.
"""

from __future__ import annotations

import collections
import threading
import time
import typing as t

if t.TYPE_CHECKING:
    from collections.abc import Callable


class SlidingWindowLimiter:
    """Allow at most `max_calls` calls in any `period` seconds; 0 means no limit."""

    def __init__(
        self,
        max_calls: int,
        period: float = 60.0,
        *,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        """`clock` and `sleep` default to time.monotonic and time.sleep (tests fake them)."""
        self.max_calls = max_calls
        self.period = period
        self._clock = clock or time.monotonic
        self._sleep = sleep or time.sleep
        self._calls: collections.deque[float] = collections.deque()
        self._lock = threading.Lock()
        self.waited = 0.0  # total seconds spent waiting, for the run summary

    def acquire(self) -> None:
        """Block until a call is allowed, then record it."""
        if self.max_calls <= 0:
            return
        with self._lock:
            while True:
                now = self._clock()
                while self._calls and self._calls[0] <= now - self.period:
                    self._calls.popleft()
                if len(self._calls) < self.max_calls:
                    self._calls.append(now)
                    return
                wait = self._calls[0] + self.period - now
                self.waited += wait
                self._sleep(wait)
