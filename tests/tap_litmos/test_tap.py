"""The command line, run as users run it: a subprocess against the sandbox over HTTP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import typing as t
from pathlib import Path

import pytest

from tests.helpers.catalog import catalog_selecting
from tests.helpers.expect import API_KEY

if t.TYPE_CHECKING:
    from litmos_sandbox import LitmosSandbox

pytestmark = pytest.mark.e2e

MODES = {"sync": [], "test": ["--test"], "discover": ["--discover"]}


def tap_cli(
    tmp_path: Path, config: dict, *args: str, env: dict | None = None, only: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the tap's command line; with `only`, a catalog that selects just that stream."""
    config_file = tmp_path / "config.json"
    config_file.write_text(json.dumps(config))
    if only:
        catalog_file = tmp_path / "catalog.json"
        catalog_file.write_text(json.dumps(catalog_selecting(config, only)))
        args = ("--catalog", str(catalog_file), *args)
    return subprocess.run(
        [sys.executable, "-m", "tap_litmos", "--config", str(config_file), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
        check=False,
    )


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "| ERROR" in line]


BAD_SETTINGS = [
    ({"page_size": 0}, "page_size"),
    ({"page_size": 5000}, "page_size"),
    ({"start_date": "not-a-date"}, "start_date"),
    ({"region": "xx"}, "region"),
    ({"response_format": "csv"}, "response_format"),
    ({"api_url": "ftp://example.com/v1.svc"}, "api_url"),
    ({"api_key": None}, "api_key"),
]


@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize(("override", "setting"), BAD_SETTINGS)
def test_bad_settings_are_refused_before_any_request(
    tmp_path: Path, sandbox: LitmosSandbox, config: dict, override: dict, setting: str, mode: str
) -> None:
    bad = {k: v for k, v in {**config, **override}.items() if v is not None}
    if setting == "api_url":
        bad["api_url"] = override["api_url"]
    result = tap_cli(tmp_path, bad, *MODES[mode])
    assert result.returncode != 0
    errors = error_lines(result.stderr)
    assert any(f"'{setting}'" in line for line in errors), result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert API_KEY not in result.stderr + result.stdout
    assert sandbox.requests == []
    assert '"type":"RECORD"' not in result.stdout.replace(" ", "")


def test_every_problem_is_reported_on_its_own_line(tmp_path: Path, config: dict) -> None:
    bad = {**config, "page_size": 0, "region": "xx", "start_date": "soon"}
    result = tap_cli(tmp_path, bad)
    problems = [line for line in error_lines(result.stderr) if "Setting '" in line]
    assert len(problems) == 3
    assert result.returncode == 1


def test_a_rejected_key_fails_in_one_line_without_echoing_it(
    tmp_path: Path, sandbox: LitmosSandbox, config: dict
) -> None:
    wrong = "wrong-key-77c1"
    result = tap_cli(tmp_path, {**config, "api_key": wrong})
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert any("HTTP 401" in line for line in error_lines(result.stderr)), result.stderr
    assert wrong not in result.stderr + result.stdout
    assert [r["status"] for r in sandbox.requests] == [401]  # a 401 is not retried


def test_a_server_that_cannot_be_reached_fails_in_one_line(tmp_path: Path, config: dict) -> None:
    result = tap_cli(tmp_path, {**config, "api_url": "http://127.0.0.1:9/v1.svc", "max_retries": 0})
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert error_lines(result.stderr)


@pytest.mark.parametrize("log_level", ["INFO", "DEBUG"])
def test_the_api_key_never_appears_in_any_output(
    tmp_path: Path, sandbox: LitmosSandbox, config: dict, log_level: str
) -> None:
    result = tap_cli(tmp_path, config, env={"TAP_LITMOS_LOGLEVEL": log_level}, only="achievements")
    assert result.returncode == 0, result.stderr
    assert result.stdout.count('"type":"RECORD"') == 500
    assert API_KEY not in result.stdout
    assert API_KEY not in result.stderr


def test_test_mode_reads_one_record_with_one_request(
    tmp_path: Path, sandbox: LitmosSandbox, config: dict
) -> None:
    result = tap_cli(tmp_path, config, "--test")
    assert result.returncode == 0, result.stderr
    assert result.stdout.count('"type":"RECORD"') == 1
    assert '"stream":"users"' in result.stdout
    assert [r["path"] for r in sandbox.requests] == ["/v1.svc/users/details"]


def test_about_and_version() -> None:
    about = subprocess.run(
        [str(Path(sys.executable).parent / "tap-litmos"), "--about", "--format=json"],
        capture_output=True,
        text=True,
        check=True,
    )
    info = json.loads(about.stdout)
    assert info["name"] == "tap-litmos"
    assert {
        "api_key",
        "source",
        "region",
        "api_url",
        "start_date",
        "lookback_days",
        "user_ids",
        "response_format",
        "page_size",
        "request_timeout",
    } <= set(info["settings"]["properties"])
    version = subprocess.run(
        [sys.executable, "-m", "tap_litmos", "--version"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert version.stdout.startswith("tap-litmos v")


def _redirect_elsewhere(sandbox: LitmosSandbox, elsewhere: str) -> None:
    sandbox.configure(redirect_base=elsewhere)
    sandbox.inject("redirect")


HARDENING_SCENARIOS: dict[str, t.Callable[[LitmosSandbox, str], None]] = {
    "cross-host redirect": _redirect_elsewhere,
    "bad value": lambda sb, _: sb.set_raw(
        "achievements", sb.truth()[3]["AchievementId"], "CertificateId", "n/a"
    ),
    "bad key": lambda sb, _: sb.set_raw(
        "achievements", sb.truth()[3]["AchievementId"], "AchievementId", "n/a"
    ),
    "throttled with Retry-After": lambda sb, _: (
        sb.configure(retry_after=0),
        sb.inject("429"),
    ),
    "unknown field": lambda sb, _: sb.configure(extra_fields={"Surprise": "1"}),
}


@pytest.mark.parametrize("log_level", ["INFO", "DEBUG"])
@pytest.mark.parametrize("scenario", list(HARDENING_SCENARIOS))
def test_hardening_runs_never_show_the_key_and_fail_in_one_line(
    tmp_path: Path, sandbox: LitmosSandbox, config: dict, scenario: str, log_level: str
) -> None:
    from tests.helpers.loopback import LoopbackServer

    with LoopbackServer("127.0.0.2") as elsewhere:
        HARDENING_SCENARIOS[scenario](sandbox, elsewhere.origin)
        result = tap_cli(
            tmp_path, config, env={"TAP_LITMOS_LOGLEVEL": log_level}, only="achievements"
        )
    assert elsewhere.seen == []
    assert API_KEY not in result.stdout
    assert API_KEY not in result.stderr
    fails = scenario in {"cross-host redirect", "bad key"}
    assert (result.returncode != 0) == fails, result.stderr
    if fails:
        assert len(error_lines(result.stderr)) >= 1
        if log_level == "INFO":
            assert "Traceback" not in result.stderr
    else:
        assert result.stdout.count('"type":"RECORD"') == 500
