"""A LEGACY state through a real read of `source-litmos`: resumed from, or refused.

Only the GLOBAL shape had a read test; a LEGACY state silently ignored would start the
read from scratch. The shapes one by one: tests/tap_litmos/airbyte/test_state.py.
"""

from __future__ import annotations

import datetime as dt
import typing as t

import pytest

from tests.helpers.airbyte_source import configured_catalog, discover, run_source
from tests.helpers.expect import API_KEY, parse_utc, since_text

if t.TYPE_CHECKING:
    from pathlib import Path

    from litmos_sandbox import LitmosSandbox
    from tests.helpers.airbyte_source import SourceRun

pytestmark = pytest.mark.e2e

#: What every incremental run re-reads before its bookmark (the overlap_minutes default).
OVERLAP = dt.timedelta(minutes=10)


def read(tmp_path: Path, config: dict, state: object = None, label: str = "read") -> SourceRun:
    catalog = configured_catalog(discover(tmp_path, config), ["achievements"])
    return run_source("read", tmp_path, config=config, catalog=catalog, state=state, label=label)


@pytest.mark.parametrize("shape", ["singer", "cdk", "bare"])
def test_a_read_resumes_from_a_legacy_state(
    tmp_path: Path, sandbox: LitmosSandbox, config: dict, shape: str
) -> None:
    first = read(tmp_path, config, label="first")
    assert first.returncode == 0, first.tail()
    bookmark = first.bookmarks()["achievements"]
    data = (
        {"achievements": bookmark} if shape == "cdk" else {"bookmarks": {"achievements": bookmark}}
    )
    state = data if shape == "bare" else [{"type": "LEGACY", "data": data}]
    sandbox.reset_log()
    run = read(tmp_path, config, state)
    assert run.returncode == 0, run.tail()
    since = since_text(parse_utc(bookmark["replication_key_value"]) - OVERLAP)
    assert [r["params"].get("since") for r in sandbox.requests] == [since]
    assert len(run.records("achievements")) < len(sandbox.truth())


def test_a_legacy_state_it_cannot_read_is_a_config_error_before_any_request(
    tmp_path: Path, sandbox: LitmosSandbox, config: dict
) -> None:
    state = [{"type": "LEGACY", "data": {"achievements": "2025-03-01T00:00:00Z"}}]
    run = read(tmp_path, config, state)
    assert run.returncode == 1
    error = run.error()
    assert error["failure_type"] == "config_error"
    assert "LEGACY state source-litmos cannot read" in error["message"]
    assert sandbox.requests == []
    assert API_KEY.encode() not in run.stdout
