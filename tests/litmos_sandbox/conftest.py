"""Fixtures for the sandbox tests: running sandboxes and a small raw HTTP client.

Helpers are fixtures (not importable modules) so these tests cannot clash by module
name with the rest of the suite.
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest

from litmos_sandbox import LitmosSandbox

KEY = "test-key"


@dataclass
class Resp:
    status: int
    reason: str
    headers: dict[str, str]  # lower-cased names
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def _request(
    sandbox: LitmosSandbox,
    params: dict[str, Any] | None = None,
    *,
    key: str | None = KEY,
    path: str = "/achievements",
    method: str = "GET",
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
    raw_query: str | None = None,
) -> Resp:
    """One request on a fresh connection via http.client (keeps the reason phrase)."""
    base = urlsplit(sandbox.base_url)
    target = base.path + path if not path.startswith("/_sandbox") else path
    query = raw_query if raw_query is not None else urlencode(params or {})
    if query:
        target += "?" + query
    hdrs = dict(headers or {})
    if key is not None:
        hdrs.setdefault("apikey", key)
    conn = http.client.HTTPConnection(base.hostname, base.port, timeout=10)
    try:
        conn.request(method, target, body=body, headers=hdrs)
        resp = conn.getresponse()
        data = resp.read()
        return Resp(resp.status, resp.reason, {k.lower(): v for k, v in resp.getheaders()}, data)
    finally:
        conn.close()


@pytest.fixture(scope="module")
def sandbox() -> Iterator[LitmosSandbox]:
    """A shared, read-only sandbox (tests must not add rows or inject faults here)."""
    with LitmosSandbox(seed=7, users=12, achievements=400, api_key=KEY) as sb:
        yield sb


@pytest.fixture
def fresh() -> Iterator[LitmosSandbox]:
    """A private sandbox a test may mutate."""
    with LitmosSandbox(seed=11, users=6, achievements=120, api_key=KEY) as sb:
        yield sb


@pytest.fixture
def api() -> Callable[..., Resp]:
    """``api(sandbox, params, key=..., path=..., method=...)`` -> Resp."""
    return _request


@pytest.fixture
def key() -> str:
    return KEY
