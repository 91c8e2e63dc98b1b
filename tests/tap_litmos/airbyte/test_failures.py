"""Airbyte's `failure_type` through real reads: `source-litmos` against the sandbox.

A 403 mid-read is a `config_error`, a failure that outlasts its retries a
`transient_error`, an exception nobody planned for a `system_error` with its stack
trace; each read exits 1 with the TRACE ERROR last. The mapping itself, failure by
failure: tests/tap_litmos/airbyte/test_failure_types.py.
"""

from __future__ import annotations

import typing as t

import pytest

from tests.helpers.airbyte_source import configured_catalog, discover, run_source
from tests.helpers.expect import API_KEY

if t.TYPE_CHECKING:
    from pathlib import Path

    from litmos_sandbox import LitmosSandbox
    from tests.helpers.airbyte_source import SourceRun

pytestmark = pytest.mark.e2e


def read(tmp_path: Path, config: dict, streams: list[str], state: object = None) -> SourceRun:
    catalog = configured_catalog(discover(tmp_path, config), streams)
    return run_source("read", tmp_path, config=config, catalog=catalog, state=state)


def failed_with(run: SourceRun) -> dict:
    """The TRACE ERROR of a failed read: exit 1, the TRACE last, the key nowhere."""
    assert run.returncode == 1, run.tail()
    assert run.messages[-1]["type"] == "TRACE"
    assert API_KEY.encode() not in run.stdout
    assert run.stderr == ""
    return run.error()


def test_a_403_mid_read_is_a_config_error(
    tmp_path: Path, sandbox: LitmosSandbox, config: dict
) -> None:
    # achievements reads its one page; Litmos then refuses the users call (a `source` or
    # a permission the key lacks): retrying cannot help, the user must act.
    sandbox.inject("403", after=1)
    run = read(tmp_path, config, ["achievements", "users"])
    error = failed_with(run)
    assert error["failure_type"] == "config_error"
    assert "(HTTP 403)" in error["message"]
    assert "stack_trace" not in error
    assert run.records("achievements")  # what was read before it is out


@pytest.mark.parametrize("fault", ["500", "504", "drop"])
def test_a_failure_that_outlasts_its_retries_is_transient(
    tmp_path: Path, sandbox: LitmosSandbox, config: dict, fault: str
) -> None:
    # max_retries 1: one retry (a 2 s wait), and it fails again.
    sandbox.inject(fault, count=2)
    run = read(tmp_path, {**config, "max_retries": 1}, ["achievements"])
    error = failed_with(run)
    assert error["failure_type"] == "transient_error", error
    assert "stack_trace" not in error
    assert len(sandbox.requests) == 2  # the request and its one retry
    assert any("Retrying achievements" in line for line in run.logs)


def test_an_unexpected_exception_is_a_system_error_with_its_stack_trace(
    tmp_path: Path, sandbox: LitmosSandbox, config: dict
) -> None:
    # A hand-edited state the SDK trips over: not the user's config, not the server; a
    # failure nobody planned for.
    state = [{
        "type": "STREAM",
        "stream": {"stream_descriptor": {"name": "achievements"},
                   "stream_state": {"partitions": 5}},
    }]  # fmt: skip
    run = read(tmp_path, config, ["achievements"], state)
    error = failed_with(run)
    assert error["failure_type"] == "system_error"
    assert error["message"].startswith("TypeError")
    assert "Traceback" in error["stack_trace"]
    assert sandbox.requests == []
