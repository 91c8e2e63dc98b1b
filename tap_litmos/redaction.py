"""Keeping the API key and every password out of each byte the tap writes.

A hostile or broken server can echo anything back: the key in a 500 page, in a field
value, in a header quoted in an error. Rather than trusting every message to be
careful, everything the process writes passes one redaction on its way out:

- log lines, at every level and from every logger (the tap's, the SDK's, urllib3's),
  tracebacks included: a log-record factory renders each record's message and
  traceback once, redacted, as the record is made;
- uncaught exceptions: `sys.excepthook`;
- the Singer (or Airbyte) messages on stdout: the writers call `redact_bytes` on each
  block before writing it.

The key is matched as written and in the forms a URL or a JSON string would carry it.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import threading
import traceback
import typing as t
from urllib.parse import quote, quote_plus

from tap_litmos.ratelimit import backend_passwords

if t.TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

REDACTED = "[redacted]"
#: Shorter values are not secrets worth the name; replacing them would mangle output.
MIN_SECRET_LENGTH = 4

_lock = threading.Lock()
_secrets: tuple[str, ...] = ()
_secret_bytes: tuple[bytes, ...] = ()
_installed = False
_PERCENT = re.compile(r"%[0-9A-F]{2}")


def secret_values(config: Mapping[str, t.Any]) -> set[str]:
    """The values of `config` that must never be written: the key and any password."""
    values = {str(config.get("api_key") or "")}
    backend = config.get("rate_limit_backend")
    if isinstance(backend, str) and backend:
        values |= backend_passwords(backend)
    return {v for v in values if len(v) >= MIN_SECRET_LENGTH}


def _forms(secret: str) -> set[str]:
    """The secret as written, escaped inside a JSON string, and URL-encoded.

    URL-encoded as a query value (`quote_plus`) or a path (`quote`), `/` encoded or not,
    in upper- or lower-case hex (`%2F` and `%2f` are the same byte).
    """
    encoded = {quote(secret, safe=safe) for safe in ("", "/")}
    encoded |= {quote_plus(secret, safe=safe) for safe in ("", "/")}
    encoded |= {_PERCENT.sub(lambda m: m.group().lower(), form) for form in encoded}
    return {secret, json.dumps(secret)[1:-1], *encoded}


def protect(secrets: Iterable[str]) -> None:
    """Redact `secrets` from all output of this process from now on.

    Idempotent; secrets accumulate (a test process builds many taps), since forgetting
    one is never the safe choice.
    """
    global _secrets, _secret_bytes  # noqa: PLW0603 (one process-wide table, by design)
    with _lock:
        known = set(_secrets)
        for secret in secrets:
            if len(secret) >= MIN_SECRET_LENGTH:
                known |= _forms(secret)
        # Longest first, so a secret that contains another is replaced whole.
        _secrets = tuple(sorted(known, key=len, reverse=True))
        _secret_bytes = tuple(s.encode() for s in _secrets)
        _install_once()


def redact(text: str) -> str:
    """`text` with every known secret replaced by `REDACTED`."""
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


def redact_bytes(data: bytes | bytearray) -> bytes | bytearray:
    """`data` (UTF-8 output) with every known secret replaced; unchanged when none is in it."""
    for secret in _secret_bytes:
        if secret in data:
            data = data.replace(secret, REDACTED.encode())
    return data


def _install_once() -> None:
    global _installed  # noqa: PLW0603
    if _installed:
        return
    _installed = True
    make_record = logging.getLogRecordFactory()

    def redacted_record(*args: t.Any, **kwargs: t.Any) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        if not _secrets:
            return record
        # Render once, redacted: every handler and formatter then sees the safe text.
        record.msg, record.args = redact(record.getMessage()), None
        if record.exc_info and record.exc_info[0] is not None:
            record.exc_text = redact("".join(traceback.format_exception(*record.exc_info)))
            record.exc_text = record.exc_text.rstrip("\n")
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return record

    logging.setLogRecordFactory(redacted_record)
    previous_hook = sys.excepthook

    def redacted_excepthook(kind: type[BaseException], value: BaseException, tb: t.Any) -> None:
        if not _secrets:
            previous_hook(kind, value, tb)
            return
        sys.stderr.write(redact("".join(traceback.format_exception(kind, value, tb))))

    sys.excepthook = redacted_excepthook
