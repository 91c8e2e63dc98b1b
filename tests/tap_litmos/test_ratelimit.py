"""The shared request budget, driven by a fake clock (no real sleeping)."""

from __future__ import annotations

from tap_litmos.ratelimit import SlidingWindowLimiter


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_allows_max_calls_then_waits_for_the_oldest_to_leave_the_window() -> None:
    clock = FakeClock()
    limiter = SlidingWindowLimiter(3, 60.0, clock=clock, sleep=clock.sleep)
    for _ in range(3):
        limiter.acquire()
        clock.now += 1.0  # calls at 1000, 1001, 1002
    assert clock.sleeps == []
    limiter.acquire()  # the 4th call must wait until 1000 + 60
    assert clock.sleeps == [57.0]
    assert clock.now == 1060.0
    assert limiter.waited == 57.0


def test_never_more_than_max_calls_in_any_window() -> None:
    clock = FakeClock()
    limiter = SlidingWindowLimiter(5, 60.0, clock=clock, sleep=clock.sleep)
    stamps = []
    for i in range(23):
        limiter.acquire()
        stamps.append(clock.now)
        clock.now += 0.5 if i % 3 else 7.0
    for start in stamps:
        assert sum(start <= s < start + 60.0 for s in stamps) <= 5


def test_zero_disables_the_limit() -> None:
    clock = FakeClock()
    limiter = SlidingWindowLimiter(0, clock=clock, sleep=clock.sleep)
    for _ in range(1000):
        limiter.acquire()
    assert clock.sleeps == []
