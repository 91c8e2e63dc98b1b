"""One request budget shared by real processes: through a file, and through a real Redis
server (started by tests/helpers/servers.py on 127.0.0.1, never a fake client).

Each worker process takes K slots of a small budget (N per short window) and reports
when each `acquire()` began and returned. An attempt was admitted somewhere between
the two, so N + 1 attempts whose whole spans fit inside one window prove the limit was
broken; the assertions need no timing margin and cannot fail on a slow machine.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import typing as t

import pytest
import redis

from tap_litmos.ratelimit import RateLimitBackendError, RequestBudget, budget_name
from tests.helpers import servers

if t.TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

API_KEY = "test-key-3f9a"
LIMIT = 5  # attempts ...
PERIOD = 1.0  # ... per this many seconds, in these tests
PER_WORKER = 6  # each worker alone must wait once; two together, three windows
PASSWORD = "hunter2-secret"

WORKER = textwrap.dedent(
    """
    import json, sys, time
    from tap_litmos.ratelimit import RequestBudget

    backend, api_key, limit, period, count = sys.argv[1:]
    budget = RequestBudget(int(limit), api_key, backend, period=float(period))
    print("ready", flush=True)
    sys.stdin.readline()  # "go": every worker starts at once
    spans = []
    for _ in range(int(count)):
        began = time.time()
        budget.acquire()
        spans.append((began, time.time()))
    budget.close()
    print(json.dumps({"spans": spans, "waited": budget.waited, "acquired": budget.acquired}))
    """
)


def run_workers(backend: str, keys: list[str]) -> list[dict]:
    """One worker process per key, released together; their reports."""
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, backend, key, str(LIMIT), str(PERIOD), str(PER_WORKER)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for key in keys
    ]
    try:
        for worker in workers:
            assert worker.stdout is not None
            assert worker.stdout.readline() == "ready\n", worker.stderr.read()  # type: ignore[union-attr]
        for worker in workers:
            assert worker.stdin is not None
            worker.stdin.write("go\n")
            worker.stdin.flush()
        reports = []
        for worker in workers:
            out, err = worker.communicate(timeout=60)
            assert worker.returncode == 0, err
            reports.append(json.loads(out))
        return reports
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.communicate()


def most_in_one_window(spans: list[tuple[float, float]]) -> int:
    """The most attempts certainly admitted inside one window [s, s + PERIOD)."""
    return max(sum(s <= b and e < s + PERIOD for b, e in spans) for s, _ in spans)


def assert_shared_limit_kept(reports: list[dict]) -> None:
    spans = [tuple(span) for report in reports for span in report["spans"]]
    assert len(spans) == PER_WORKER * len(reports)
    assert all(report["acquired"] == PER_WORKER for report in reports)
    assert most_in_one_window(spans) <= LIMIT
    # 12 attempts at 5 a window: the last one is at least two windows after the first.
    assert max(e for _, e in spans) - min(b for b, _ in spans) >= 2 * PERIOD


@pytest.mark.e2e
def test_processes_naming_the_same_file_share_one_budget(tmp_path: Path) -> None:
    path = tmp_path / "budget.db"
    reports = run_workers(str(path), [API_KEY, API_KEY])
    assert_shared_limit_kept(reports)
    for file in tmp_path.iterdir():
        assert API_KEY.encode() not in file.read_bytes(), file.name


# --- Redis -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def redis_server() -> Iterator[servers.Server]:
    yield from servers.pytest_server(servers.redis_server)


@pytest.fixture
def redis_url(redis_server: servers.Server) -> str:
    """The module's Redis server, emptied before each test."""
    client = redis.Redis.from_url(redis_server.url)
    client.flushall()
    client.close()
    return redis_server.url


def stored_in_redis(url: str) -> dict[str, object]:
    """Every key of every database, with its whole value, as text."""
    client = redis.Redis.from_url(url, decode_responses=True)
    try:
        dump: dict[str, object] = {}
        databases = int(client.config_get("databases")["databases"])
        for db in range(databases):
            client.select(db)
            for key in client.scan_iter():
                kind = client.type(key)
                value = client.zrange(key, 0, -1, withscores=True) if kind == "zset" else kind
                dump[f"{db}/{key}"] = (kind, value, client.pttl(key))
        return dump
    finally:
        client.close()


@pytest.mark.platform
def test_processes_on_the_same_redis_server_share_one_budget(redis_url: str) -> None:
    reports = run_workers(redis_url, [API_KEY, API_KEY])
    assert_shared_limit_kept(reports)
    stored = stored_in_redis(redis_url)
    assert list(stored) == [f"0/{budget_name(API_KEY)}"]


@pytest.mark.platform
def test_redis_holds_a_hash_of_the_key_never_the_key(redis_url: str) -> None:
    budget = RequestBudget(LIMIT, API_KEY, redis_url, sleep=lambda _: None)
    for _ in range(3):
        budget.acquire()
    budget.close()
    stored = stored_in_redis(redis_url)
    assert list(stored) == [f"0/{budget_name(API_KEY)}"]
    kind, entries, ttl_ms = stored[f"0/{budget_name(API_KEY)}"]  # type: ignore[misc]
    assert kind == "zset"
    assert len(entries) == 3
    assert 0 < ttl_ms <= 2 * 60_000  # an unused budget disappears after two windows
    assert API_KEY not in repr(stored)


@pytest.mark.platform
def test_budgets_on_redis_share_per_key_on_a_fake_clock(redis_url: str) -> None:
    now = [5000.0]
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += seconds

    def budget(key: str) -> RequestBudget:
        return RequestBudget(3, key, redis_url, clock=lambda: now[0], sleep=sleep)

    first, second, other_key = budget(API_KEY), budget(API_KEY), budget("another-key")
    try:
        for _ in range(3):
            first.acquire()
            other_key.acquire()
            now[0] += 1.0
        assert sleeps == []
        second.acquire()  # another connection, the same key: the window is full
        assert sleeps == [pytest.approx(57.001)]
    finally:
        for each in (first, second, other_key):
            each.close()


@pytest.mark.platform
def test_a_redis_restart_that_forgets_the_script_is_survived(redis_url: str) -> None:
    budget = RequestBudget(LIMIT, API_KEY, redis_url, sleep=lambda _: None)
    budget.acquire()
    client = redis.Redis.from_url(redis_url)
    client.script_flush()
    client.close()
    budget.acquire()
    budget.close()
    assert budget.acquired == 2


@pytest.mark.unit
def test_an_unreachable_redis_is_one_error_line_without_the_password() -> None:
    port = servers.free_port()
    url = f"redis://:{PASSWORD}@127.0.0.1:{port}/0"
    budget = RequestBudget(LIMIT, API_KEY, url)  # opens nothing yet
    with pytest.raises(RateLimitBackendError) as failure:
        budget.acquire()
    message = str(failure.value)
    assert f"redis://:***@127.0.0.1:{port}/0" in message
    assert PASSWORD not in message
    assert "\n" not in message
    budget.close()
    budget.close()


@pytest.fixture
def own_redis_server() -> Iterator[servers.Server]:
    """A Redis server of the test's own, with a password, that the test may stop."""
    yield from servers.pytest_server(lambda: servers.redis_server(password=PASSWORD))


@pytest.mark.platform
def test_a_redis_server_that_goes_away_mid_run_is_one_error_line(
    own_redis_server: servers.Server,
) -> None:
    budget = RequestBudget(LIMIT, API_KEY, own_redis_server.url, sleep=lambda _: None)
    budget.acquire()
    own_redis_server.stop()
    with pytest.raises(RateLimitBackendError) as failure:
        budget.acquire()
    budget.close()
    assert "redis://:***@127.0.0.1:" in str(failure.value)
    assert PASSWORD not in str(failure.value)
    assert "\n" not in str(failure.value)
    assert budget.acquired == 1
