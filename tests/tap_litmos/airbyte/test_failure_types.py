"""Airbyte's `failure_type` for each failure the tap raises: config, transient or system error.

Airbyte retries a sync or stops it on exactly this field: `config_error` (the user must
change something: a refused key or permission), `transient_error` (the same read may
work later: a 5xx that outlasted its retries, a dropped connection, a stop by a signal)
and `system_error` (anything unexpected). The failures are the ones the tap really
raises (its own response check for an HTTP status); tests/tap_litmos/airbyte/test_failures.py
shows the same through real reads.
"""

from __future__ import annotations

import signal

import pytest
import requests
from singer_sdk.exceptions import ConfigValidationError, RetriableAPIError

from tap_litmos.airbyte.cli import failure_type
from tap_litmos.airbyte.messages import Stopped
from tap_litmos.ratelimit import RateLimitBackendError
from tap_litmos.tap import TapLitmos
from tap_litmos.transport import ResponseDeadlineError
from tests.helpers.expect import API_KEY

pytestmark = pytest.mark.unit


def raised_for(status: int) -> BaseException:
    """What the tap's own response check raises for an answer with `status`."""
    tap = TapLitmos(
        config={"api_key": API_KEY, "api_url": "http://127.0.0.1:9/v1.svc"},
        parse_env_config=False,
    )
    response = requests.Response()
    response.status_code = status
    response.reason = "Refused"
    response.url = "http://127.0.0.1:9/v1.svc/achievements?source=x"
    response._content = b"You do not have the proper permissions for this call."  # noqa: SLF001
    with pytest.raises(Exception) as caught:
        tap.streams["achievements"].validate_response(response)
    return caught.value


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (401, "config_error"),  # the key
        (403, "config_error"),  # the source, or the key's permissions
        (500, "transient_error"),  # a 5xx is retried, then may work on the next sync
        (503, "transient_error"),  # the throttle
        (504, "transient_error"),
    ],
)
def test_an_http_failure_maps_to_its_failure_type(status: int, expected: str) -> None:
    assert failure_type(raised_for(status)) == expected


@pytest.mark.parametrize(
    ("failure", "expected"),
    [
        (ConfigValidationError("bad", errors=["bad"]), "config_error"),
        (RetriableAPIError("Litmos server error (HTTP 502)"), "transient_error"),
        (requests.exceptions.ConnectionError("refused"), "transient_error"),
        (requests.exceptions.ReadTimeout("slow"), "transient_error"),
        (ResponseDeadlineError("no complete response within 2 s"), "transient_error"),
        (RateLimitBackendError("redis://127.0.0.1:9: refused"), "transient_error"),
        (Stopped(signal.SIGTERM), "transient_error"),
        (Stopped(signal.SIGINT), "transient_error"),
        (TypeError("'int' object is not iterable"), "system_error"),
        (KeyError("Id"), "system_error"),
        (RuntimeError("unexpected"), "system_error"),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, BaseException) else v,
)
def test_each_kind_of_failure_maps_to_its_failure_type(
    failure: BaseException, expected: str
) -> None:
    assert failure_type(failure) == expected
