"""The request budget: its window on a fake clock (no real sleeping), the file backend
shared by budgets of one process, and which `rate_limit_backend` values are usable.

Real processes and a real Redis server: test_shared_budget.py.
"""

from __future__ import annotations

import hashlib
import sqlite3
import typing as t

import pytest

from tap_litmos.ratelimit import (
    RateLimitBackendError,
    RequestBudget,
    backend_problem,
    budget_name,
)

if t.TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.unit

API_KEY = "test-key-3f9a"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def never_sleep(seconds: float) -> None:
    pytest.fail(f"the budget waited {seconds} s where it had room")


def in_any_window(stamps: list[float], period: float = 60.0) -> int:
    """The most stamps that fall in one half-open window [s, s + period)."""
    return max(sum(start <= s < start + period for s in stamps) for start in stamps)


# --- The window, in-process, on a fake clock ---------------------------------------------


def test_allows_max_calls_then_waits_for_the_oldest_to_leave_the_window() -> None:
    clock = FakeClock()
    budget = RequestBudget(3, API_KEY, clock=clock, sleep=clock.sleep)
    for _ in range(3):
        budget.acquire()
        clock.now += 1.0  # attempts at 1000, 1001, 1002
    assert clock.sleeps == []
    budget.acquire()  # the 4th must wait until the first has left the window
    # Windows are whole milliseconds, both ends included: the attempt at 1000.000 s
    # still counts at 1060.000 s, so the wait ends 1 ms later.
    assert clock.sleeps == [pytest.approx(57.001)]
    assert clock.now == pytest.approx(1060.001)
    assert budget.waited == pytest.approx(57.001)
    assert budget.acquired == 4


def test_never_more_than_max_calls_in_any_window() -> None:
    clock = FakeClock()
    budget = RequestBudget(5, API_KEY, clock=clock, sleep=clock.sleep)
    stamps = []
    for i in range(23):
        budget.acquire()
        stamps.append(clock.now)
        clock.now += 0.5 if i % 3 else 7.0
    assert in_any_window(stamps) == 5
    assert budget.acquired == 23
    assert budget.waited == pytest.approx(sum(clock.sleeps))
    assert budget.waited > 0


def test_a_burst_then_a_steady_pace_waits_only_for_the_burst() -> None:
    clock = FakeClock()
    budget = RequestBudget(90, API_KEY, clock=clock, sleep=clock.sleep)
    for _ in range(90):
        budget.acquire()
    assert clock.sleeps == []
    budget.acquire()
    assert clock.sleeps == [pytest.approx(60.001)]
    for _ in range(200):  # one attempt a second: always under 90 a minute, never waits
        clock.now += 1.0
        budget.acquire()
    assert len(clock.sleeps) == 1


def test_zero_disables_the_limit_but_still_counts() -> None:
    clock = FakeClock()
    budget = RequestBudget(0, API_KEY, clock=clock, sleep=clock.sleep)
    for _ in range(1000):
        budget.acquire()
    assert clock.sleeps == []
    assert budget.acquired == 1000
    assert budget.waited == 0.0


def test_zero_never_opens_the_backend(tmp_path: Path) -> None:
    budget = RequestBudget(0, API_KEY, str(tmp_path / "budget.db"), sleep=never_sleep)
    budget.acquire()
    budget.close()
    assert list(tmp_path.iterdir()) == []
    unreachable = RequestBudget(0, API_KEY, "redis://127.0.0.1:1/0", sleep=never_sleep)
    unreachable.acquire()  # no connection is attempted
    unreachable.close()


def test_closing_keeps_the_in_process_window() -> None:
    clock = FakeClock()
    budget = RequestBudget(2, API_KEY, clock=clock, sleep=clock.sleep)
    budget.acquire()
    budget.acquire()
    budget.close()
    budget.close()
    budget.acquire()
    assert clock.sleeps == [pytest.approx(60.001)]


# --- The file backend, within one process (two processes: test_shared_budget.py) ---------


def test_budgets_naming_the_same_file_and_key_share_one_window(tmp_path: Path) -> None:
    clock = FakeClock()
    path = str(tmp_path / "budget.db")
    first = RequestBudget(3, API_KEY, path, clock=clock, sleep=never_sleep)
    second = RequestBudget(3, API_KEY, path, clock=clock, sleep=clock.sleep)
    other_key = RequestBudget(3, "another-key", path, clock=clock, sleep=never_sleep)
    try:
        for _ in range(3):
            first.acquire()
            other_key.acquire()  # another key: its own window in the same file
            clock.now += 1.0  # 1000, 1001, 1002
        second.acquire()  # the same key: the first budget's attempts fill the window
        assert clock.sleeps == [pytest.approx(57.001)]
        assert second.waited == pytest.approx(57.001)
        assert first.waited == 0.0
    finally:
        for budget in (first, second, other_key):
            budget.close()


def test_the_file_keeps_the_window_across_close_and_reopen(tmp_path: Path) -> None:
    clock = FakeClock()
    budget = RequestBudget(2, API_KEY, str(tmp_path / "budget.db"), clock=clock, sleep=clock.sleep)
    budget.acquire()
    budget.acquire()
    budget.close()
    budget.close()  # idempotent
    budget.acquire()  # reopens the file, whose window is still full
    budget.close()
    assert clock.sleeps == [pytest.approx(60.001)]
    again = RequestBudget(2, API_KEY, str(tmp_path / "budget.db"), clock=clock, sleep=clock.sleep)
    again.acquire()  # a new budget (a later run) sees the attempt at 1060.001 ...
    assert len(clock.sleeps) == 1
    again.acquire()  # ... which fills the window again
    again.close()
    assert clock.sleeps == [pytest.approx(60.001), pytest.approx(60.001)]


def test_the_file_holds_a_hash_of_the_key_never_the_key(tmp_path: Path) -> None:
    clock = FakeClock()
    path = tmp_path / "budget.db"
    budget = RequestBudget(5, API_KEY, str(path), clock=clock, sleep=clock.sleep)
    for _ in range(12):
        budget.acquire()
        clock.now += 2.0
    written = {f.name: f.read_bytes() for f in tmp_path.iterdir()}  # while still open: -wal too
    budget.close()
    written.update({f.name: f.read_bytes() for f in tmp_path.iterdir()})
    assert written
    for name, content in written.items():
        assert API_KEY.encode() not in content, name
        assert API_KEY not in name
    assert budget_name(API_KEY).encode() in written["budget.db"]
    assert budget_name(API_KEY) == "tap-litmos:" + hashlib.sha256(API_KEY.encode()).hexdigest()[:16]
    with sqlite3.connect(path) as db:
        tables = [row[0] for row in db.execute("SELECT name FROM sqlite_master")]
        rows = db.execute(f"SELECT * FROM '{budget_name(API_KEY)}'").fetchall()  # noqa: S608
    db.close()
    assert budget_name(API_KEY) in tables
    assert all(API_KEY not in str(row) for row in rows)
    assert len(rows) <= 5  # entries older than the window are dropped


def test_a_broken_file_is_one_backend_error_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "budget.db"
    budget = RequestBudget(5, API_KEY, str(path), sleep=never_sleep)
    path.write_bytes(b"not a database, written after the settings were checked" * 100)
    with pytest.raises(RateLimitBackendError) as failure:
        budget.acquire()
    message = str(failure.value)
    assert str(path) in message
    assert "\n" not in message
    assert API_KEY not in message
    budget.close()


# --- Which settings are usable ---------------------------------------------------------


def test_in_process_and_file_paths_are_usable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert backend_problem(None) is None
    assert backend_problem("") is None
    assert backend_problem(str(tmp_path / "budget.db")) is None  # a new file
    (tmp_path / "empty.db").touch()
    assert backend_problem(str(tmp_path / "empty.db")) is None
    sqlite3.connect(tmp_path / "existing.db").close()
    with sqlite3.connect(tmp_path / "existing.db") as db:
        db.execute("CREATE TABLE t (x)")
    db.close()
    assert backend_problem(str(tmp_path / "existing.db")) is None
    monkeypatch.chdir(tmp_path)
    assert backend_problem("budget.db") is None  # relative to the working directory
    assert backend_problem("./budget.db") is None


@pytest.mark.parametrize(
    "url",
    [
        "redis://localhost:6379/0",
        "redis://127.0.0.1",
        "redis://redis.internal:6380/3",
        "rediss://user:secret@redis.example.com:6380/1",
        "REDIS://localhost/0",
        "redis://[::1]:6379/0",
    ],
)
def test_redis_urls_are_usable(url: str) -> None:
    assert backend_problem(url) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (42, "must be a file path or a redis:// URL, got int"),
        (["a"], "must be a file path or a redis:// URL, got list"),
        (" /tmp/budget.db", "must not start or end with spaces"),
        ("ftp://example.com/budget", "unsupported scheme 'ftp'"),
        ("http://localhost:6379/0", "unsupported scheme 'http'"),
        ("redis:///0", "has no host"),
        ("redis:localhost", "has no host"),
        ("redis://localhost:notaport/0", "is not a valid URL"),
        ("redis://localhost:70000/0", "is not a valid URL"),
        ("redis://localhost/zero", "must be a number, such as /0"),
        ("redis://localhost/0/1", "must be a number, such as /0"),
        ("redis://localhost/0?socket_timeout=soon", "Invalid value for 'socket_timeout'"),
    ],
)
def test_unusable_values_say_why(value: object, expected: str) -> None:
    problem = backend_problem(value)
    assert problem is not None
    assert expected in problem
    assert "\n" not in problem


@pytest.mark.parametrize(
    "url",
    [
        "redis://:hunter2-secret@localhost:notaport/0",
        "rediss://admin:hunter2-secret@localhost/zero",
        "redis://admin:hunter2-secret@localhost/0?socket_timeout=soon",
        "redis://localhost/0?password=hunter2-secret&socket_timeout=soon",
        "ftp://admin:hunter2-secret@example.com/budget",
        "redis://:hunter2-secret@[::1/0",
    ],
)
def test_problems_never_echo_a_redis_password(url: str) -> None:
    problem = backend_problem(url)
    assert problem is not None
    assert "hunter2-secret" not in problem
    assert "***" in problem


def test_file_paths_that_cannot_hold_a_budget(tmp_path: Path) -> None:
    problem = backend_problem(str(tmp_path))
    assert problem is not None
    assert "is a directory" in problem
    problem = backend_problem(str(tmp_path / "missing" / "budget.db"))
    assert problem is not None
    assert "directory that does not exist" in problem
    (tmp_path / "config.json").write_text('{"api_key": "x"}')
    problem = backend_problem(str(tmp_path / "config.json"))
    assert problem is not None
    assert "not an SQLite file" in problem
    problem = backend_problem(str(tmp_path / "config.json" / "budget.db"))
    assert problem is not None


def test_a_budget_refuses_an_unusable_backend_before_opening_anything() -> None:
    with pytest.raises(ValueError, match="unsupported scheme 'ftp'"):
        RequestBudget(90, API_KEY, "ftp://example.com/budget")


def test_descriptions_mask_the_redis_password() -> None:
    budget = RequestBudget(90, API_KEY, "redis://user:hunter2-secret@localhost:6379/0")
    assert budget.backend == "redis://user:***@localhost:6379/0"
    assert "hunter2-secret" not in repr(budget)
    assert API_KEY not in repr(budget)
    assert RequestBudget(90, API_KEY).backend == "in-process"
