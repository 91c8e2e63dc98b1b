"""A key with `+ / = % &` in it stays out of every output, as written and URL-encoded.

A server can echo the key back in any form: as sent, or URL-encoded (`%2B`, `%2F`, `%3D`,
`%25`, `%26`, in upper or lower case, with `/` left as is or not). The test key has each
character that encodes differently, so a form left out of the redaction shows. Every
output is checked: the tap's stdout and stderr at INFO and DEBUG, source-litmos's
stdout (RECORD, LOG and TRACE lines), and the doctor's reports. The key reaches them
through records and values set to null (the sandbox echoes it, `set_raw`) and through
error pages (a loopback server answering every request with a page quoting it).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import typing as t
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest

from litmos_sandbox import LitmosSandbox
from tap_litmos import doctor
from tests.helpers.airbyte_source import configured_catalog, discover, run_source
from tests.helpers.catalog import catalog_selecting
from tests.helpers.loopback import LoopbackServer

if t.TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = pytest.mark.e2e

KEY = "tk+y/z=w%q&r-3f9a"


def encoded_forms(key: str) -> list[str]:
    """The key as a URL or form would carry it, built here independently."""
    upper = [quote(key, safe=""), quote(key, safe="/"), quote_plus(key), quote_plus(key, safe="/")]
    lower = [_lower_hex(form) for form in upper]
    return sorted(set(upper + lower) - {key})


def _lower_hex(text: str) -> str:
    parts = text.split("%")
    return parts[0] + "".join("%" + p[:2].lower() + p[2:] for p in parts[1:])


FORMS = [KEY, *encoded_forms(KEY)]
#: Every form once, short enough that no message cuts it off.
ECHO = " ".join(FORMS)


def test_the_forms_differ_in_each_character() -> None:
    assert len(FORMS) >= 5
    for char, code in (("+", "2b"), ("/", "2f"), ("=", "3d"), ("%", "25"), ("&", "26")):
        assert char in KEY
        assert any(f"%{code}" in f for f in FORMS)
        assert any(f"%{code.upper()}" in f for f in FORMS)


def leaks(text: str | bytes) -> list[str]:
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    return [form for form in FORMS if form in text]


@pytest.fixture
def sandbox() -> Iterator[LitmosSandbox]:
    with LitmosSandbox(seed=7, users=20, achievements=50, api_key=KEY) as box:
        users = box.truth("users")
        for n, form in enumerate(FORMS):
            box.set_raw("users", users[n]["Id"], "FirstName", f"echo {form} echo")  # a record
            box.set_raw("users", users[n]["Id"], "Points", form)  # set to null, with a warning
        yield box


@pytest.fixture
def echoing() -> Iterator[LoopbackServer]:
    """A server answering every request with 403 and a page quoting the key in every form."""
    body = f"<html><body>Forbidden for {ECHO}</body></html>".encode()
    with LoopbackServer(reply=(403, {"Content-Type": "text/html"}, body)) as server:
        yield server


def config_for(api_url: str) -> dict[str, t.Any]:
    return {"api_key": KEY, "api_url": api_url, "max_requests_per_minute": 0, "max_retries": 0}


def run_tap_process(
    config: dict, tmp_path: Path, level: str, catalog: dict | None = None
) -> subprocess.CompletedProcess[bytes]:
    (tmp_path / "config.json").write_text(json.dumps(config))
    args = [sys.executable, "-m", "tap_litmos", "--config", str(tmp_path / "config.json")]
    if catalog is not None:
        (tmp_path / "catalog.json").write_text(json.dumps(catalog))
        args += ["--catalog", str(tmp_path / "catalog.json")]
    env = {**os.environ, "TAP_LITMOS_LOGLEVEL": level}
    return subprocess.run(args, capture_output=True, env=env, timeout=300, check=False)


@pytest.mark.parametrize("level", ["INFO", "DEBUG"])
def test_the_tap_writes_no_form_of_the_key_in_records_or_logs(
    sandbox: LitmosSandbox, tmp_path: Path, level: str
) -> None:
    config = config_for(sandbox.base_url)
    done = run_tap_process(config, tmp_path, level, catalog_selecting(config, "users"))
    assert done.returncode == 0, done.stderr[-2000:]
    assert leaks(done.stdout) == []
    assert leaks(done.stderr) == []
    # The echoes did reach both: redacted.
    assert done.stdout.count(b"echo [redacted] echo") == len(FORMS)
    assert b"[redacted]" in done.stderr
    assert b"Set to null" in done.stderr


@pytest.mark.parametrize("level", ["INFO", "DEBUG"])
def test_the_tap_writes_no_form_of_the_key_in_a_failure(
    echoing: LoopbackServer, tmp_path: Path, level: str
) -> None:
    config = config_for(f"{echoing.origin}/v1.svc")
    done = run_tap_process(config, tmp_path, level, catalog_selecting(config, "users"))
    assert done.returncode == 1
    assert b"(HTTP 403)" in done.stderr
    assert leaks(done.stdout + done.stderr) == []
    assert b"[redacted]" in done.stderr


def test_source_litmos_writes_no_form_of_the_key(
    sandbox: LitmosSandbox, echoing: LoopbackServer, tmp_path: Path, monkeypatch: t.Any
) -> None:
    monkeypatch.setenv("TAP_LITMOS_LOGLEVEL", "DEBUG")
    config = config_for(sandbox.base_url)
    catalog = configured_catalog(discover(tmp_path, config), ["users"])
    read = run_source("read", tmp_path, config=config, catalog=catalog)
    assert read.returncode == 0, read.tail()
    assert leaks(read.stdout) == []
    assert read.stdout.count(b"echo [redacted] echo") == len(FORMS)
    assert any("[redacted]" in line for line in read.logs)  # LOG lines
    failed = run_source(
        "read", tmp_path, config=config_for(f"{echoing.origin}/v1.svc"), catalog=catalog
    )
    assert failed.returncode == 1
    assert "[redacted]" in failed.error()["message"]  # the TRACE
    assert leaks(failed.stdout) == []
    assert leaks(read.stderr + failed.stderr) == []


def test_the_doctor_writes_no_form_of_the_key(
    echoing: LoopbackServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "config.json").write_text(json.dumps(config_for(f"{echoing.origin}/v1.svc")))
    report = tmp_path / "doctor.json"
    code = doctor.main(["--config", str(tmp_path / "config.json"), "--report", str(report)])
    out = capsys.readouterr()
    assert code == 1
    written = report.read_text()
    assert "[redacted]" in written
    assert leaks(written + out.out + out.err) == []
