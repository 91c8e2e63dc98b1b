"""Shared fixtures: a Litmos sandbox over real HTTP on 127.0.0.1, and tap configs."""

from __future__ import annotations

import types
import typing as t

import pytest

from litmos_sandbox import LitmosSandbox
from tests.helpers.expect import API_KEY

if t.TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.fixture
def sandbox() -> Iterator[LitmosSandbox]:
    """A fresh, small sandbox (20 users, 500 achievements) per test."""
    with LitmosSandbox(seed=7, users=20, achievements=500, api_key=API_KEY) as box:
        yield box


@pytest.fixture
def config(sandbox: LitmosSandbox) -> dict[str, t.Any]:
    """A valid config pointing at the sandbox, with no client-side pacing."""
    return {
        "api_key": API_KEY,
        "api_url": sandbox.base_url,
        "max_requests_per_minute": 0,
    }


@pytest.fixture
def retry_sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Skip the retry waits (recording them) so fault tests run in milliseconds."""
    import time

    import backoff._sync

    sleeps: list[float] = []
    fake_time = types.SimpleNamespace(**{n: getattr(time, n) for n in dir(time) if n[0] != "_"})
    fake_time.sleep = sleeps.append
    monkeypatch.setattr(backoff._sync, "time", fake_time)  # noqa: SLF001
    return sleeps
