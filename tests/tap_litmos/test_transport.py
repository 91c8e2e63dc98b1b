"""The HTTP rules on their own: origins, Retry-After, retry waits, the guarded session."""

from __future__ import annotations

import email.utils

import pytest
import requests

from tap_litmos.transport import (
    THROTTLE_WAIT_SECONDS,
    CrossHostRedirectError,
    LitmosSession,
    origin,
    retry_after_seconds,
    retry_wait,
)
from tests.helpers.loopback import LoopbackServer

pytestmark = pytest.mark.unit


def response(status: int, headers: dict[str, str] | None = None) -> requests.Response:
    resp = requests.Response()
    resp.status_code = status
    resp.headers.update(headers or {})
    return resp


class Failure(Exception):
    def __init__(self, resp: requests.Response | None) -> None:
        super().__init__("failed")
        self.response = resp


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://api.litmos.com/v1.svc", ("https", "api.litmos.com", 443)),
        ("https://API.Litmos.com:443/v1.svc/x?y=1", ("https", "api.litmos.com", 443)),
        ("http://api.litmos.com/v1.svc", ("http", "api.litmos.com", 80)),
        ("http://127.0.0.1:8765/v1.svc", ("http", "127.0.0.1", 8765)),
        ("http://[::1]:9/v1.svc", ("http", "::1", 9)),
    ],
)
def test_origin_fills_in_default_ports_and_ignores_case(url: str, expected: tuple) -> None:
    assert origin(url) == expected


def test_retry_after_in_seconds() -> None:
    assert retry_after_seconds(response(503, {"Retry-After": "7"})) == 7.0
    assert retry_after_seconds(response(503, {"Retry-After": " 0 "})) == 0.0


def test_retry_after_as_an_http_date() -> None:
    now = 1_700_000_000.0
    when = email.utils.formatdate(now + 42, usegmt=True)
    assert retry_after_seconds(response(429, {"Retry-After": when}), now=lambda: now) == 42.0
    past = email.utils.formatdate(now - 42, usegmt=True)
    assert retry_after_seconds(response(429, {"Retry-After": past}), now=lambda: now) == 0.0


@pytest.mark.parametrize("value", ["", "soon", "-5", "1.5e3"])
def test_unreadable_retry_after_is_ignored(value: str) -> None:
    assert retry_after_seconds(response(503, {"Retry-After": value})) is None


def test_an_absurd_retry_after_is_capped() -> None:
    assert retry_after_seconds(response(503, {"Retry-After": "86400"})) == 600.0


@pytest.mark.parametrize("status", [503, 429])
def test_a_throttle_waits_a_minute_or_what_retry_after_says(status: int) -> None:
    assert retry_wait(Failure(response(status)), 1) == THROTTLE_WAIT_SECONDS
    assert retry_wait(Failure(response(status, {"Retry-After": "12"})), 3) == 12.0


def test_other_failures_back_off_exponentially_up_to_a_minute() -> None:
    waits = [retry_wait(Failure(response(500)), n) for n in range(1, 8)]
    assert waits == [2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0]
    assert retry_wait(requests.exceptions.ConnectTimeout(), 2) == 4.0
    # Retry-After on a non-throttle status is not a throttle
    assert retry_wait(Failure(response(500, {"Retry-After": "30"})), 1) == 2.0


def redirect_to(target: str) -> tuple[int, dict[str, str], bytes]:
    return 302, {"Location": target}, b""


@pytest.mark.parametrize(
    "other_host",
    ["127.0.0.2", "127.0.0.1"],  # another address, or the same address on another port
)
def test_the_session_refuses_a_redirect_to_another_origin(other_host: str) -> None:
    with LoopbackServer(other_host) as elsewhere, LoopbackServer() as api:
        api.reply = redirect_to(f"{elsewhere.origin}/v1.svc/achievements")
        session = LitmosSession(f"{api.origin}/v1.svc")
        with pytest.raises(CrossHostRedirectError) as caught:
            session.get(f"{api.origin}/v1.svc/achievements", headers={"apikey": "k-secret"})
        assert other_host in str(caught.value)
        assert "k-secret" not in str(caught.value)
        assert elsewhere.seen == []  # nothing at all was sent there
        assert len(api.seen) == 1


def test_the_session_follows_a_redirect_on_the_same_origin() -> None:
    with LoopbackServer() as api:
        api.routes["/v1.svc/achievements"] = redirect_to(f"{api.origin}/v1.svc/moved")
        api.reply = (200, {"Content-Type": "application/json"}, b"[]")
        session = LitmosSession(f"{api.origin}/v1.svc")
        resp = session.get(f"{api.origin}/v1.svc/achievements", headers={"apikey": "k-secret"})
        assert resp.status_code == 200
        assert [s.path for s in api.seen] == ["/v1.svc/achievements", "/v1.svc/moved"]
        assert all(s.headers.get("apikey") == "k-secret" for s in api.seen)
