"""The redaction itself, in one process: every form of a secret, in text, bytes and log records.

Through every output of the real commands: tests/tap_litmos/test_redaction_everywhere.py.
Secrets accumulate for the whole process (`protect`), so each test protects its own.
"""

from __future__ import annotations

import io
import json
import logging
import re
import sys
from urllib.parse import quote, quote_plus

import pytest

from tap_litmos import redaction
from tap_litmos.redaction import REDACTED, protect, redact, redact_bytes, secret_values

pytestmark = pytest.mark.unit


KEY = 'unit-a+b/c=d%e&f"g'
FORMS = {
    "raw": KEY,
    "quote": quote(KEY, safe=""),
    "quote-slash": quote(KEY),
    "quote-plus": quote_plus(KEY),
    "quote-plus-slash": quote_plus(KEY, safe="/"),
    "lower-hex": re.sub(r"%[0-9A-F]{2}", lambda m: m.group().lower(), quote(KEY, safe="")),
    "lower-hex-slash": re.sub(r"%[0-9A-F]{2}", lambda m: m.group().lower(), quote(KEY)),
    "json": json.dumps(KEY)[1:-1],
}


@pytest.mark.parametrize("form", list(FORMS))
def test_each_form_of_the_secret_is_redacted_in_text_and_bytes(form: str) -> None:
    protect([KEY])
    text = f"before {FORMS[form]} after"
    assert redact(text) == f"before {REDACTED} after"
    assert redact_bytes(text.encode()) == f"before {REDACTED} after".encode()
    assert redact_bytes(bytearray(text.encode())) == f"before {REDACTED} after".encode()


def test_text_without_a_secret_is_returned_unchanged() -> None:
    protect(["unit-untouched-key"])
    data = bytearray(b"nothing secret here")
    assert redact_bytes(data) is data
    assert redact("nothing secret here") == "nothing secret here"


def test_a_secret_that_contains_another_is_replaced_whole() -> None:
    protect(["unit-inner", "unit-inner-and-outer"])
    assert redact("x unit-inner-and-outer y") == f"x {REDACTED} y"
    assert redact("x unit-inner y") == f"x {REDACTED} y"


def test_short_values_are_not_secrets() -> None:
    protect(["abc"])
    assert redact("abc abcd") == "abc abcd"
    assert secret_values({"api_key": "abc"}) == set()


def test_the_secret_values_are_the_key_and_the_backend_passwords() -> None:
    config = {
        "api_key": "unit-key-1234",
        "rate_limit_backend": "redis://user:unit-p%40ss@127.0.0.1:6379/0",
        "source": "not-a-secret",
    }
    assert secret_values(config) == {"unit-key-1234", "unit-p%40ss", "unit-p@ss"}
    assert secret_values({"api_key": "unit-key-1234", "rate_limit_backend": ""}) == {
        "unit-key-1234"
    }


def test_log_records_are_redacted_as_they_are_made(caplog: pytest.LogCaptureFixture) -> None:
    key = "unit-logged-key"
    protect([key])
    logger = logging.getLogger("tap-litmos.unit")
    with caplog.at_level(logging.DEBUG, logger="tap-litmos.unit"):
        logger.warning("the server said %s", key)
        try:
            raise ValueError(key)  # noqa: TRY301
        except ValueError:
            logger.exception("failed with %s", quote_plus(key))
        logger.debug("stack", stack_info=True, extra={"x": 1})
    first, second, _ = caplog.records
    assert first.getMessage() == f"the server said {REDACTED}"
    assert second.getMessage() == f"failed with {REDACTED}"
    assert second.exc_text is not None
    assert key not in second.exc_text
    assert "ValueError" in second.exc_text
    assert key not in caplog.text


def test_an_uncaught_exception_is_redacted(monkeypatch: pytest.MonkeyPatch) -> None:
    key = "unit-uncaught-key"
    protect([key])
    err = io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    try:
        raise RuntimeError(key)  # noqa: TRY301
    except RuntimeError as exc:
        sys.excepthook(type(exc), exc, exc.__traceback__)
    assert key not in err.getvalue()
    assert f"RuntimeError: {REDACTED}" in err.getvalue()
    assert redaction._installed  # noqa: SLF001
