"""Shared fixtures (a Litmos sandbox over real HTTP on 127.0.0.1, tap configs) and tiers.

Every test belongs to exactly one tier (`pytestmark = pytest.mark.unit` in its module, or
a mark on the test where a module mixes tiers); collection fails for a test with none or
with two. See docs/development.md, "Tests and tiers".
"""

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


#: The tiers, cheapest first (registered in pyproject.toml).
TIERS = ("unit", "e2e", "platform")


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Refuse to collect a test that has no tier, or more than one."""
    wrong = []
    for item in items:
        tiers = sorted({m.name for m in item.iter_markers() if m.name in TIERS})
        if len(tiers) != 1:
            wrong.append(f"{item.nodeid}: {', '.join(tiers) or 'no tier'}")
    if wrong:
        shown = "\n  ".join(wrong[:20])
        more = f"\n  ... and {len(wrong) - 20} more" if len(wrong) > 20 else ""
        msg = (
            f"{len(wrong)} test(s) without exactly one tier marker ({', '.join(TIERS)}):"
            f"\n  {shown}{more}\nMark the module (`pytestmark = pytest.mark.unit`) or the test."
        )
        raise pytest.UsageError(msg)
