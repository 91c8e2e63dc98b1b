"""Two accounts' taps on one machine, one `rate_limit_backend`: a budget per key.

Two sandbox processes play two Litmos accounts (different keys, different data), each
throttling its own key at Litmos's 100 requests a minute (503 beyond). Two `tap-litmos`
processes, one per account, run at once and name the same budget file (or the same Redis
server), with `max_requests_per_minute` set so that each account's run fits in it alone
while the two runs together would not.

What proves the budgets are separate, without timing anything:

- each tap's own summary says it waited 0 s for the budget: a tap waits only when its
  key's window already holds `max_requests_per_minute` attempts, which one account's run
  alone never reaches, while a budget shared by both runs (started together, finished
  in a second or two) would have made one of them wait;
- the backend holds one window per key (named by a hash of each key), each with no more
  attempts than that account sent and at most the limit;
- neither sandbox answered a 503, and each tap read its own account whole.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
import subprocess
import sys
import typing as t
from pathlib import Path

import pytest
import redis

from litmos_sandbox.process import SpawnedSandbox, spawn
from tap_litmos.progress import SUMMARY_MARKER
from tap_litmos.ratelimit import budget_name
from tests.helpers import servers

if t.TYPE_CHECKING:
    from collections.abc import Iterator

KEYS = ("key-account-us-1b7c", "key-account-eu-9d2e")
#: Each account's run from START_DAYS back takes about 40 requests (a few 7-day windows
#: per /org/* stream, one page per snapshot): under this limit alone, over it together.
LIMIT = 60
START_DAYS = 14
HTTP_OK = 200
HTTP_THROTTLED = 503
TAP = str(Path(sys.executable).parent / "tap-litmos")


@pytest.fixture(scope="module")
def accounts() -> Iterator[list[SpawnedSandbox]]:
    """Two sandbox processes: own key, own seed, each throttling at 100 a minute."""
    started: list[SpawnedSandbox] = []
    try:
        for seed, key in enumerate(KEYS, start=1):
            started.append(
                spawn(seed=seed, api_key=key, throttle_per_minute=100, throttle_status=503)
            )
        yield started
    finally:
        for sandbox in started:
            sandbox.stop()
            if sandbox.process.stdout is not None:  # the pipe it printed its address on
                sandbox.process.stdout.close()


def run_both(accounts: list[SpawnedSandbox], backend: str, workdir: Path) -> list[dict]:
    """Both taps at once, one shared backend; per account: summary, log, record counts."""
    for sandbox in accounts:
        sandbox.reset_log()
    since = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=START_DAYS)
    start_date = since.strftime("%Y-%m-%dT00:00:00Z")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAP_LITMOS_")}
    env["TAP_LITMOS_LOGLEVEL"] = "INFO"  # the summary line
    procs = []
    for index, sandbox in enumerate(accounts):
        config = workdir / f"config-{index}.json"
        config.write_text(json.dumps({
            "api_key": sandbox.api_key, "api_url": sandbox.base_url, "start_date": start_date,
            "max_requests_per_minute": LIMIT, "rate_limit_backend": backend,
        }))  # fmt: skip
        with (workdir / f"out-{index}.jsonl").open("wb") as out:  # the child keeps its copy
            procs.append(subprocess.Popen(
                [TAP, "--config", str(config)], stdout=out, stderr=subprocess.PIPE, env=env
            ))  # fmt: skip
    results = []
    try:
        for index, (proc, sandbox) in enumerate(zip(procs, accounts, strict=True)):
            _, err = proc.communicate(timeout=600)
            log_text = err.decode(errors="replace")
            assert proc.returncode == 0, log_text[-3000:]
            assert sandbox.api_key not in log_text
            (summary,) = [
                json.loads(line.split(SUMMARY_MARKER, 1)[1])
                for line in log_text.splitlines()
                if SUMMARY_MARKER in line
            ]
            records: dict[str, int] = {}
            for line in (workdir / f"out-{index}.jsonl").read_bytes().splitlines():
                message = json.loads(line)
                if message["type"] == "RECORD":
                    records[message["stream"]] = records.get(message["stream"], 0) + 1
            results.append({"summary": summary, "log": sandbox.requests(), "records": records})
    finally:
        for proc in procs:  # only when an assertion stopped the loop early
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    return results


def assert_each_held_its_own_budget(results: list[dict], windows: dict[str, int]) -> None:
    sent = [len(r["log"]) for r in results]
    # The premise: each account alone fits the limit, the two together would not.
    assert all(0 < n <= LIMIT for n in sent), sent
    assert sum(sent) > LIMIT, sent
    for result, key, n in zip(results, KEYS, sent):
        assert [e["status"] for e in result["log"] if e["status"] != HTTP_OK] == []  # 0 x 503
        assert result["summary"]["status"] == "succeeded"
        assert result["summary"]["requests"] == n
        assert result["summary"]["budget_waited_seconds"] == 0  # never waited for the other
        assert result["records"]["users"] == 20  # the sandbox's default account, read whole
        assert 0 < windows[budget_name(key)] <= n
    assert set(windows) == {budget_name(key) for key in KEYS}  # one window per key


@pytest.mark.e2e
def test_two_accounts_on_one_budget_file_each_keep_their_own_budget(
    accounts: list[SpawnedSandbox], tmp_path: Path
) -> None:
    budget = tmp_path / "budget.sqlite"
    results = run_both(accounts, str(budget), tmp_path)
    with sqlite3.connect(budget) as con:
        tables = [r[0] for r in con.execute("select name from sqlite_master where type='table'")]
        windows = {
            name: con.execute(f'select count(*) from "{name}"').fetchone()[0]  # noqa: S608
            for name in tables
            if name.startswith("tap-litmos:")
        }
    assert_each_held_its_own_budget(results, windows)
    for key in KEYS:
        assert key.encode() not in budget.read_bytes()


@pytest.fixture(scope="module")
def redis_server() -> Iterator[servers.Server]:
    yield from servers.pytest_server(servers.redis_server)


@pytest.mark.platform
def test_two_accounts_on_one_redis_server_each_keep_their_own_budget(
    accounts: list[SpawnedSandbox], redis_server: servers.Server, tmp_path: Path
) -> None:
    client = redis.Redis.from_url(redis_server.url, decode_responses=True)
    try:
        client.flushall()
        results = run_both(accounts, redis_server.url, tmp_path)
        windows = {key: client.zcard(key) for key in client.scan_iter()}
    finally:
        client.close()
    assert_each_held_its_own_budget(results, windows)
