"""Throttling and injected/random faults, observed by real HTTP clients (faults.py)."""

from __future__ import annotations

import http.client
import json
import time
import urllib.error
import urllib.request

import pytest
import requests

from litmos_sandbox import LitmosSandbox
from litmos_sandbox.faults import FaultPlan, Throttle
from litmos_sandbox.wire import MSG_401, MSG_403, MSG_404, MSG_503

pytestmark = pytest.mark.unit

Q = {"source": "t", "format": "json", "limit": 10}


def get(sb: LitmosSandbox, key: str = "test-key", **params: object) -> requests.Response:
    with requests.Session() as s:  # a fresh connection each time
        return s.get(
            sb.base_url + "/achievements",
            params={**Q, **params},
            headers={"apikey": key},
            timeout=5,
        )


def test_500_request_error_page(fresh) -> None:
    fresh.inject("500")
    r = get(fresh)
    assert r.status_code == 500
    assert r.headers["Content-Type"].startswith("text/html")
    assert "<TITLE>Request Error</TITLE>" in r.text
    assert "<B>Error Status Code:</B> 'InternalServerError'" in r.text
    assert "<!-- Padding xxxx" in r.text
    assert get(fresh).status_code == 200  # one-shot


def test_503_and_504(fresh) -> None:
    fresh.inject("503")
    fresh.inject("504")
    r = get(fresh)
    assert r.status_code == 503 and MSG_503 in r.text and "Retry-After" not in r.headers
    r = get(fresh)
    assert r.status_code == 504 and "Gateway Time-out" in r.text
    assert get(fresh).status_code == 200


@pytest.mark.parametrize(
    ("kind", "status", "text"),
    [("401", 401, MSG_401), ("403", 403, MSG_403), ("404", 404, MSG_404)],
)
def test_injected_client_errors(fresh, kind, status, text) -> None:
    fresh.inject(kind)
    r = get(fresh)
    assert (r.status_code, r.text, r.reason) == (status, text, text)


def test_inject_after(fresh, api) -> None:
    fresh.inject("500", count=1, after=2)
    assert [get(fresh).status_code for _ in range(4)] == [200, 200, 500, 200]
    r = api(
        fresh,
        path="/_sandbox/inject",
        method="POST",
        key=None,
        body=json.dumps({"kind": "504", "count": 1, "after": 1}).encode(),
    )
    assert r.status == 200 and r.json() == {"pending": [None, "504"]}
    assert [get(fresh).status_code for _ in range(3)] == [200, 504, 200]


def test_fifo_order_and_count(fresh) -> None:
    fresh.inject("500", count=2)
    fresh.inject("504")
    assert fresh.pending_faults == ["500", "500", "504"]
    assert [get(fresh).status_code for _ in range(4)] == [500, 500, 504, 200]
    fresh.inject("500", 3)
    fresh.clear_faults()
    assert get(fresh).status_code == 200


def test_drop_raises_on_client(fresh) -> None:
    fresh.inject("drop")
    with pytest.raises(requests.ConnectionError):
        get(fresh)
    fresh.inject("drop")
    with pytest.raises((urllib.error.URLError, http.client.RemoteDisconnected, ConnectionError)):
        req = urllib.request.Request(
            fresh.base_url + "/achievements?source=t", headers={"apikey": "test-key"}
        )
        with urllib.request.urlopen(req, timeout=5) as resp:
            resp.read()
    assert get(fresh).status_code == 200
    assert [e["status"] for e in fresh.requests[-3:]] == [0, 0, 200]
    assert [e["fault"] for e in fresh.requests[-3:]] == ["drop", "drop", None]


def test_truncate_raises_on_client(fresh) -> None:
    fresh.inject("truncate")
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        get(fresh)
    fresh.inject("truncate")
    req = urllib.request.Request(
        fresh.base_url + "/achievements?source=t&limit=50", headers={"apikey": "test-key"}
    )
    with pytest.raises(http.client.IncompleteRead):
        with urllib.request.urlopen(req, timeout=5) as resp:
            assert resp.status == 200
            resp.read()
    assert get(fresh).status_code == 200


def test_truncate_json_is_length_consistent_but_broken(fresh) -> None:
    full = get(fresh).content
    fresh.inject("truncate_json")
    r = get(fresh)
    assert r.status_code == 200
    assert int(r.headers["Content-Length"]) == len(r.content) == len(full) // 2
    assert r.content == full[: len(full) // 2]
    with pytest.raises(json.JSONDecodeError):
        json.loads(r.content)


def test_slow(fresh) -> None:
    fresh.configure(slow_seconds=0.3)
    fresh.inject("slow")
    t0 = time.monotonic()
    r = get(fresh)
    assert time.monotonic() - t0 >= 0.3
    assert r.status_code == 200 and len(r.json()) == 10


def test_200_garbage(fresh) -> None:
    fresh.inject("200_garbage")
    r = get(fresh)
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/html")
    assert "Request Error" in r.text
    with pytest.raises(ValueError):
        r.json()


def test_unknown_kind_rejected(fresh) -> None:
    with pytest.raises(ValueError, match="unknown fault kind"):
        fresh.inject("418")


def test_faults_never_hit_admin_routes(fresh) -> None:
    fresh.inject("500")
    with urllib.request.urlopen(
        fresh.base_url.replace("/v1.svc", "/_sandbox/truth"), timeout=5
    ) as r:
        assert r.status == 200
    assert fresh.pending_faults == ["500"]
    assert get(fresh).status_code == 500


def test_fault_applies_before_auth(fresh) -> None:
    fresh.inject("504")
    assert get(fresh, key="wrong").status_code == 504
    assert get(fresh, key="wrong").status_code == 401


def test_random_faults_are_seeded() -> None:
    def statuses(seed: int) -> list[int]:
        with LitmosSandbox(
            achievements=20,
            api_key="test-key",
            fault_rate=0.5,
            fault_kinds=("500", "504"),
            fault_seed=seed,
        ) as sb:
            return [get(sb).status_code for _ in range(12)]

    a, b = statuses(3), statuses(3)
    assert a == b
    assert {500, 200} <= set(a) or {504, 200} <= set(a)
    with LitmosSandbox(
        achievements=20, api_key="test-key", fault_rate=1.0, fault_kinds=("504",)
    ) as sb:
        assert [get(sb).status_code for _ in range(3)] == [504, 504, 504]
        sb.configure(fault_rate=0.0)
        assert get(sb).status_code == 200


def test_throttle_over_http() -> None:
    with LitmosSandbox(achievements=20, api_key="test-key", throttle_per_minute=3) as sb:
        codes = [get(sb).status_code for _ in range(5)]
        assert codes == [200, 200, 200, 503, 503]
        r = get(sb)
        assert r.status_code == 503 and MSG_503 in r.text and "Retry-After" not in r.headers
        # another key has its own window (it is still refused, by auth)
        assert get(sb, key="other").status_code == 401
        assert [e["fault"] for e in sb.requests].count("throttle") == 3


def test_throttle_window_slides_and_refusals_do_not_count() -> None:
    now = [100.0]
    t = Throttle(2, window_seconds=60.0, clock=lambda: now[0])
    assert [t.allow("k"), t.allow("k"), t.allow("k"), t.allow("j")] == [True, True, False, True]
    now[0] += 30.0
    assert not t.allow("k")  # still two in the last 60 s; this refusal is not counted
    now[0] += 30.0  # the first two have left the window
    assert [t.allow("k"), t.allow("k"), t.allow("k")] == [True, True, False]
    assert Throttle(None).allow("k")


def test_fault_plan_unit() -> None:
    plan = FaultPlan(rate=0.0)
    plan.inject("drop", 2)
    assert [plan.next_injected() for _ in range(3)] == [
        (True, "drop"),
        (True, "drop"),
        (False, None),
    ]
    plan.inject("500", after=1)
    assert plan.pending() == [None, "500"]
    assert [plan.next_injected() for _ in range(2)] == [(True, None), (True, "500")]
    assert plan.next_random() is None
    a, b = FaultPlan(0.3, seed=9), FaultPlan(0.3, seed=9)
    assert [a.next_random() for _ in range(50)] == [b.next_random() for _ in range(50)]
    with pytest.raises(ValueError):
        FaultPlan(rate=2.0)


def test_paths_outside_the_api_are_not_faulted_or_logged(fresh) -> None:
    fresh.reset_log()
    fresh.inject("500")
    root = fresh.base_url.replace("/v1.svc", "/favicon.ico")
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(root, timeout=5)
    assert info.value.code == 404
    info.value.close()
    assert fresh.pending_faults == ["500"] and fresh.requests == []
