"""The base stream's Litmos-wide behaviour: budget, retries and error handling.

Faults come from the sandbox over HTTP; retry waits are recorded instead of slept.
"""

from __future__ import annotations

import types
import typing as t

import pytest

from tap_litmos import ratelimit
from tests.support import expected_record, run_tap

if t.TYPE_CHECKING:
    from litmos_sandbox import LitmosSandbox


def ids(records: list[dict]) -> set[int]:
    return {r["AchievementId"] for r in records}


def truth_ids(sandbox: LitmosSandbox) -> set[int]:
    return {r["AchievementId"] for r in sandbox.truth()}


@pytest.mark.parametrize("kind", ["500", "504", "drop", "truncate", "truncate_json", "200_garbage"])
def test_transient_faults_are_retried_and_nothing_is_lost(
    sandbox: LitmosSandbox, config: dict, retry_sleeps: list[float], kind: str
) -> None:
    sandbox.inject(kind, count=2, after=1)  # page 2 fails twice, then succeeds
    run = run_tap({**config, "page_size": 100})
    assert ids(run.records()) == truth_ids(sandbox)
    assert len(run.records()) == 500  # the failed page was not emitted twice
    assert retry_sleeps == [2.0, 4.0]  # exponential backoff
    starts = [r["params"]["start"] for r in sandbox.requests]
    assert starts == ["0", "100", "100", "100", "200", "300", "400", "500"]


def test_throttling_waits_a_minute_before_retrying(
    sandbox: LitmosSandbox, config: dict, retry_sleeps: list[float]
) -> None:
    sandbox.inject("503", count=1)
    run = run_tap(config)
    assert ids(run.records()) == truth_ids(sandbox)
    assert retry_sleeps == [60.0]  # Litmos sends no Retry-After; its window is a minute
    assert [r["status"] for r in sandbox.requests] == [503, 200]


def test_giving_up_after_max_retries_fails_the_run(
    sandbox: LitmosSandbox, config: dict, retry_sleeps: list[float]
) -> None:
    sandbox.inject("500", count=10)
    run = run_tap({**config, "max_retries": 3}, allow_failure=True)
    assert run.error is not None
    assert "HTTP 500" in str(run.error)
    assert len(sandbox.requests) == 4  # one try and three retries
    assert retry_sleeps == [2.0, 4.0, 8.0]
    assert run.records() == []


@pytest.mark.parametrize(("kind", "status"), [("401", 401), ("403", 403), ("404", 404)])
def test_client_errors_fail_at_once_without_retrying(
    sandbox: LitmosSandbox, config: dict, retry_sleeps: list[float], kind: str, status: int
) -> None:
    sandbox.inject(kind)
    run = run_tap(config, allow_failure=True)
    assert f"HTTP {status}" in str(run.error)
    assert retry_sleeps == []
    assert len(sandbox.requests) == 1


def test_unknown_user_id_names_the_user(sandbox: LitmosSandbox, config: dict) -> None:
    run = run_tap({**config, "user_ids": ["no-such-user"]}, allow_failure=True)
    assert "no-such-user" in str(run.error)
    assert "HTTP 404" in str(run.error)


def test_the_request_budget_paces_every_request(
    sandbox: LitmosSandbox, config: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = [0.0]
    sent_at: list[float] = []

    def sleep(seconds: float) -> None:
        now[0] += seconds

    fake_time = types.SimpleNamespace(monotonic=lambda: now[0], sleep=sleep)
    monkeypatch.setattr(ratelimit, "time", fake_time)
    original_acquire = ratelimit.SlidingWindowLimiter.acquire

    def acquire(self: ratelimit.SlidingWindowLimiter) -> None:
        original_acquire(self)
        sent_at.append(now[0])
        now[0] += 0.5  # each request takes half a second

    monkeypatch.setattr(ratelimit.SlidingWindowLimiter, "acquire", acquire)
    run = run_tap({**config, "page_size": 50, "max_requests_per_minute": 4})
    assert ids(run.records()) == truth_ids(sandbox)
    assert len(sent_at) == len(sandbox.requests) == 11
    for start in sent_at:  # never more than 4 requests in any 60 s of (fake) time
        assert sum(start <= s < start + 60 for s in sent_at) <= 4
    assert sent_at[-1] >= 120  # 11 requests at 4 a minute need at least two full minutes


def test_xml_and_json_faults_are_handled_alike(
    sandbox: LitmosSandbox, config: dict, retry_sleeps: list[float]
) -> None:
    sandbox.inject("truncate_json", count=1)
    run = run_tap({**config, "response_format": "xml"})
    assert [expected_record(r) for r in sandbox.truth()] == run.records()
    assert retry_sleeps == [2.0]
