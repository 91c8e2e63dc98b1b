"""Faults and options for client hardening: 429, Retry-After, stall, redirects, raw values."""

from __future__ import annotations

import email.utils
import json
import socket
import threading
import time
import xml.etree.ElementTree as ET
from datetime import datetime, timezone

import pytest
import requests

from litmos_sandbox import LitmosSandbox
from litmos_sandbox.__main__ import _parser
from litmos_sandbox.faults import FAULT_KINDS
from litmos_sandbox.wire import MSG_429, MSG_503

pytestmark = pytest.mark.unit

Q = {"source": "t", "format": "json", "limit": 10}


def get(
    sb: LitmosSandbox, path: str = "/achievements", timeout: float = 5, **params: object
) -> requests.Response:
    with requests.Session() as s:
        return s.get(
            sb.base_url + path,
            params={**Q, **params},
            headers={"apikey": "test-key"},
            timeout=timeout,
            allow_redirects=False,
        )


def test_new_kinds_are_known() -> None:
    assert {"429", "stall", "redirect", "redirect_301"} <= FAULT_KINDS


def test_429_fault(fresh) -> None:
    fresh.inject("429")
    r = get(fresh)
    assert r.status_code == 429 and r.text == MSG_429
    assert "Retry-After" not in r.headers
    assert fresh.requests[-1]["fault"] == "429"
    assert get(fresh).status_code == 200


def test_429_as_a_random_fault() -> None:
    with LitmosSandbox(
        achievements=20, api_key="test-key", fault_rate=1.0, fault_kinds=("429",)
    ) as sb:
        assert [get(sb).status_code for _ in range(2)] == [429, 429]


@pytest.mark.parametrize("kind", ["503", "429"])
def test_retry_after_seconds_on_injected_faults(fresh, kind) -> None:
    fresh.configure(retry_after=7)
    fresh.inject(kind)
    r = get(fresh)
    assert r.status_code == int(kind) and r.headers["Retry-After"] == "7"
    assert "Retry-After" not in get(fresh).headers  # only throttle replies carry it


def test_retry_after_http_date(fresh) -> None:
    fresh.configure(retry_after="http-date", retry_after_seconds=120)
    fresh.inject("503")
    before = datetime.now(timezone.utc)
    r = get(fresh)
    text = r.headers["Retry-After"]
    assert text.endswith(" GMT")
    when = email.utils.parsedate_to_datetime(text)
    delta = (when - before).total_seconds()
    assert 115 <= delta <= 125


@pytest.mark.parametrize(("status", "retry_after"), [(503, None), (429, None), (429, 3), (503, 3)])
def test_throttle_status_and_retry_after(status, retry_after) -> None:
    with LitmosSandbox(
        achievements=20,
        api_key="test-key",
        throttle_per_minute=1,
        throttle_status=status,
        retry_after=retry_after,
    ) as sb:
        assert get(sb).status_code == 200
        r = get(sb)
        assert r.status_code == status
        assert r.text == (MSG_429 if status == 429 else r.text)
        if status == 503:
            assert MSG_503 in r.text
        assert r.headers.get("Retry-After") == (None if retry_after is None else str(retry_after))
        assert sb.requests[-1]["fault"] == "throttle"


def test_bad_new_options_are_refused() -> None:
    for options in (
        {"throttle_status": 500},
        {"retry_after": "soon"},
        {"retry_after": -1},
        {"stall_seconds": -1},
        {"redirect_base": "ftp://x"},
        {"extra_fields": {"bad name": "x"}},
    ):
        with pytest.raises(ValueError):
            LitmosSandbox(achievements=1, **options)


def test_stall_sends_nothing_until_it_ends(fresh) -> None:
    fresh.configure(stall_seconds=0.5)
    fresh.inject("stall")
    # a client with a short timeout gives up before the first byte
    with pytest.raises(requests.exceptions.ReadTimeout):
        get(fresh, timeout=0.2)
    assert fresh.pending_faults == []
    fresh.inject("stall")
    r = get(fresh, timeout=5)  # a patient client gets the normal answer
    assert r.status_code == 200 and len(r.json()) == 10


def test_stall_does_not_block_other_requests_or_stop() -> None:
    sb = LitmosSandbox(achievements=20, api_key="test-key", stall_seconds=30).start()
    sb.inject("stall")
    host, port = "127.0.0.1", sb.port
    sock = socket.create_connection((host, port), timeout=5)
    sock.sendall(
        b"GET /v1.svc/achievements?source=t HTTP/1.1\r\nHost: x\r\napikey: test-key\r\n\r\n"
    )
    deadline = time.monotonic() + 5
    while sb.pending_faults and time.monotonic() < deadline:
        time.sleep(0.01)
    assert sb.pending_faults == []  # the stalled request holds its thread ...
    assert get(sb).status_code == 200  # ... and others are served meanwhile
    done = threading.Event()
    threading.Thread(target=lambda: (sb.stop(), done.set()), daemon=True).start()
    assert done.wait(10)  # stop() does not wait for the 30 s stall
    sock.close()


@pytest.mark.parametrize(("kind", "status"), [("redirect", 302), ("redirect_301", 301)])
def test_same_host_redirect(fresh, kind, status) -> None:
    fresh.inject(kind)
    r = get(fresh, limit=3)
    assert r.status_code == status
    location = r.headers["Location"]
    assert location.startswith(fresh.base_url + "/achievements?")
    assert "limit=3" in location and "source=t" in location
    assert fresh.requests[-1]["fault"] == kind
    # following it lands on the sandbox itself and is served normally
    with requests.Session() as s:
        fresh.inject(kind)
        followed = s.get(
            fresh.base_url + "/achievements",
            params={**Q, "limit": 3},
            headers={"apikey": "test-key"},
            timeout=5,
        )
    assert followed.status_code == 200 and len(followed.json()) == 3
    assert [e["status"] for e in fresh.requests[-2:]] == [status, 200]


def test_cross_host_redirect_base(fresh) -> None:
    with LitmosSandbox(achievements=5, api_key="test-key") as other:
        base = f"http://127.0.0.2:{other.port}"
        fresh.configure(redirect_base=base)
        fresh.inject("redirect")
        r = get(fresh)
        assert r.headers["Location"].startswith(base + "/v1.svc/achievements?")


def test_set_raw_and_clear_raw(fresh, api) -> None:
    truth = fresh.truth()
    target = truth[3]["AchievementId"]
    fresh.set_raw("achievements", target, "CompliantTillDate", "garbage")
    fresh.set_raw("/achievements", str(target), "Score", "a/b & <c>")
    rows = get(fresh, limit=10).json()
    row = next(r for r in rows if r["AchievementId"] == target)
    assert row["CompliantTillDate"] == "garbage"
    assert row["Score"] == "a/b & <c>"
    assert list(row) == list(truth[0])  # field order unchanged
    others = [r for r in rows if r["AchievementId"] != target]
    assert all(r["CompliantTillDate"] != "garbage" for r in others)
    root = ET.fromstring(api(fresh, {"source": "t", "limit": 10}).body)
    el = next(e for e in root if e.findtext("AchievementId") == str(target))
    assert el.findtext("CompliantTillDate") == "garbage"
    assert el.findtext("Score") == "a/b & <c>"
    assert [c.tag for c in el] == list(truth[0])
    fresh.clear_raw()
    row = next(r for r in get(fresh, limit=10).json() if r["AchievementId"] == target)
    assert row["CompliantTillDate"] != "garbage"


def test_extra_fields_on_every_row(fresh, api) -> None:
    fresh.configure(extra_fields={"NewField": "x & y", "Empty": ""})
    rows = get(fresh, limit=5).json()
    assert all(list(r)[-2:] == ["NewField", "Empty"] for r in rows)
    assert rows[0]["NewField"] == "x &amp; y" and rows[0]["Empty"] == ""
    root = ET.fromstring(api(fresh, {"source": "t", "limit": 5}).body)
    assert all([c.tag for c in el][-2:] == ["NewField", "Empty"] for el in root)
    assert root[0].findtext("NewField") == "x & y"
    fresh.configure(extra_fields={})
    assert "NewField" not in get(fresh, limit=1).json()[0]


def test_cli_flags_for_new_options() -> None:
    args = _parser().parse_args(
        [
            "--retry-after",
            "http-date",
            "--throttle-status",
            "429",
            "--stall-seconds",
            "1.5",
            "--retry-after-seconds",
            "9",
        ]
    )
    assert (
        args.retry_after,
        args.throttle_status,
        args.stall_seconds,
        args.retry_after_seconds,
    ) == ("http-date", 429, 1.5, 9)


def test_admin_configure_accepts_new_options(fresh, api) -> None:
    body = json.dumps({"retry_after": 5, "throttle_status": 429}).encode()
    r = api(fresh, path="/_sandbox/configure", method="POST", key=None, body=body)
    assert r.status == 200 and r.json()["throttle_status"] == 429
    fresh.inject("429")
    assert get(fresh).headers["Retry-After"] == "5"
