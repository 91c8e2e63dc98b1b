"""The request layer (tap_litmos/api.py): the request it builds is the one the tap sends,
and what a failure means is read from its type, never from its text.

Requests are compared with what a loopback server received from a real tap run; errors
come from the sandbox answering a real run (a rejected key, a forbidden endpoint).
"""

from __future__ import annotations

import typing as t
from urllib.parse import urlsplit

import pytest
import requests
from singer_sdk.exceptions import FatalAPIError

from litmos_sandbox import LitmosSandbox
from tap_litmos import api
from tap_litmos.airbyte.cli import failure_message, failure_type
from tap_litmos.tap import TapLitmos
from tests.helpers.catalog import catalog_selecting
from tests.helpers.expect import API_KEY
from tests.helpers.loopback import LoopbackServer
from tests.helpers.tap import run_tap

pytestmark = pytest.mark.unit

if t.TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.mark.parametrize(
    ("response_format", "body"),
    [("json", b"[]"), ("xml", b'<?xml version="1.0"?><Teams></Teams>')],
)
def test_request_for_is_the_request_the_tap_sends(response_format: str, body: bytes) -> None:
    with LoopbackServer(
        reply=(200, {"Content-Type": f"application/{response_format}"}, body)
    ) as server:
        config = {
            "api_key": API_KEY,
            "api_url": f"{server.origin}/v1.svc",
            "max_requests_per_minute": 0,
            "response_format": response_format,
            "page_size": 250,
            "source": "acme-sync",
        }
        run_tap(config, catalog=catalog_selecting(config, "teams"))
        (seen,) = server.seen
        version = TapLitmos(config=config, parse_env_config=False).plugin_version

    built = api.request_for(config, "/teams", user_agent=f"tap-litmos/{version}")
    prepared = requests.Request(
        built.method, built.url, params=built.params, headers=built.headers
    ).prepare()
    sent = urlsplit(str(prepared.url))
    assert seen.method == built.method == "GET"
    assert seen.path == f"{sent.path}?{sent.query}"  # path, parameters and their order
    received = {name.lower(): value for name, value in seen.headers.items()}
    for name, value in built.headers.items():
        assert received[name.lower()] == value, name
    assert ("format=json" in sent.query) == (response_format == "json")
    assert "limit=250" in sent.query
    assert "source=acme-sync" in sent.query


def test_request_for_takes_the_callers_page_format_and_host() -> None:
    config = {"api_key": "k", "region": "eu"}
    built = api.request_for(
        config, "/users/details", {"since": "x"}, start=5, limit=5, response_format="xml"
    )
    assert built.url == "https://api.litmoseu.com/v1.svc/users/details"
    assert built.params == {"source": "tap-litmos", "start": 5, "limit": 5, "since": "x"}
    assert built.headers == {
        "Accept": "application/xml",
        "Content-Type": "application/xml",
        "apikey": "k",
    }
    other = api.request_for(config, "/teams", base_url="https://api.litmos.com.au/v1.svc/")
    assert other.url == "https://api.litmos.com.au/v1.svc/teams"
    assert other.params["limit"] == 1000  # the page_size default, from the settings schema
    assert other.params["format"] == "json"


@pytest.fixture
def forbidding_sandbox() -> Iterator[LitmosSandbox]:
    """An account whose key may not read course results (403)."""
    with LitmosSandbox(
        seed=7, users=5, achievements=10, api_key=API_KEY, forbidden=["course_results"]
    ) as box:
        yield box


def failure_of(config: dict[str, t.Any], stream: str) -> BaseException:
    run = run_tap(config, catalog=catalog_selecting(config, stream), allow_failure=True)
    assert run.error is not None
    return run.error


def test_a_rejected_key_and_a_forbidden_endpoint_are_the_users_configuration(
    forbidding_sandbox: LitmosSandbox,
) -> None:
    config = {
        "api_key": API_KEY,
        "api_url": forbidding_sandbox.base_url,
        "max_requests_per_minute": 0,
    }
    rejected = failure_of({**config, "api_key": "not-the-key"}, "teams")
    assert isinstance(rejected, api.LitmosKeyRejectedError)
    assert (rejected.status, rejected.retriable, rejected.user_config) == (401, False, True)
    assert failure_type(rejected) == "config_error"

    forbidden = failure_of({**config, "start_date": "2026-01-01"}, "course_results")
    assert isinstance(forbidden, api.LitmosForbiddenError)
    assert (forbidden.status, forbidden.retriable, forbidden.user_config) == (403, False, True)
    assert failure_type(forbidden) == "config_error"


def test_rewording_a_message_changes_no_failure_type(
    forbidding_sandbox: LitmosSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every refusal the tap raises is reworded (no "HTTP 401"/"HTTP 403" left in it):
    # Airbyte must still call it the user's configuration, not retry it as a system error.
    classify = api.status_error

    def reworded(response: requests.Response, path: str) -> api.LitmosError | None:
        error = classify(response, path)
        if error is not None:
            error.args = (f"Zugriff verweigert ({path})",)
        return error

    monkeypatch.setattr(api, "status_error", reworded)
    config = {
        "api_key": API_KEY,
        "api_url": forbidding_sandbox.base_url,
        "max_requests_per_minute": 0,
    }
    for failure in (
        failure_of({**config, "api_key": "not-the-key"}, "teams"),
        failure_of({**config, "start_date": "2026-01-01"}, "course_results"),
    ):
        assert "HTTP" not in failure_message(failure)
        assert failure_message(failure).startswith("Zugriff verweigert")
        assert failure_type(failure) == "config_error"

    # And the other way round: a message that reads like a refusal decides nothing.
    assert failure_type(FatalAPIError("Litmos refused /x (HTTP 401)")) == "system_error"
    assert failure_type(api.LitmosAPIError("(HTTP 403)", status=404)) == "system_error"


def build_response(status: int, body: bytes = b"", **headers: str) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = body  # noqa: SLF001 (a response as requests builds one)
    response.headers.update(headers)
    response.url = "https://api.litmos.com/v1.svc/teams"
    return response


@pytest.mark.parametrize(
    ("status", "kind", "retriable", "user_config"),
    [
        (200, None, None, None),
        (301, api.LitmosAPIError, False, False),
        (400, api.LitmosAPIError, False, False),
        (401, api.LitmosKeyRejectedError, False, True),
        (403, api.LitmosForbiddenError, False, True),
        (404, api.LitmosAPIError, False, False),
        (406, api.LitmosAPIError, False, False),
        (429, api.LitmosRetriableError, True, False),
        (500, api.LitmosRetriableError, True, False),
        (503, api.LitmosRetriableError, True, False),
    ],
)
def test_every_status_has_one_kind_of_error(
    status: int,
    kind: type[api.LitmosError] | None,
    retriable: bool | None,
    user_config: bool | None,
) -> None:
    error = api.status_error(build_response(status, b"<h1>Request Error</h1>"), "/teams")
    if kind is None:
        assert error is None
        return
    assert type(error) is kind
    assert error is not None
    assert (error.status, error.retriable, error.user_config) == (status, retriable, user_config)
    # What the retry loop catches follows the type: retriable errors and nothing else.
    assert isinstance(error, api.RETRIED_FAILURES) == retriable
