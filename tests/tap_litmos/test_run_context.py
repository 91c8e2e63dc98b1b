"""The run context (tap_litmos/run_context.py): the one way a stream reaches the run.

A stream's budget, clock, progress, bad-value tally, account start, writer and the ILT
day hand-off all come from `LitmosStream.run`, the tap's `RunContext`; nothing else of
the tap is reached from a stream, and the SDK's private `_tap` only in sdk_seams.py.
"""

from __future__ import annotations

import ast
import logging
import re
import typing as t
from pathlib import Path

import pytest
from singer_sdk import Tap

from tap_litmos.airbyte.messages import AirbyteWriter
from tap_litmos.run_context import RunContext, SessionDays, VersionHoldingWriter
from tap_litmos.streams.teams import TeamsStream
from tap_litmos.tap import TapLitmos
from tap_litmos.writer import BufferedMsgSpecWriter
from tests.helpers.catalog import catalog_selecting
from tests.helpers.tap import run_tap

pytestmark = pytest.mark.unit

if t.TYPE_CHECKING:
    from litmos_sandbox import LitmosSandbox

PACKAGE = Path(__file__).resolve().parents[2] / "tap_litmos"
CONFIG = {"api_key": "k", "api_url": "http://127.0.0.1:9/v1.svc", "max_requests_per_minute": 0}


def test_every_stream_reaches_the_one_run_context_of_its_tap() -> None:
    tap = TapLitmos(config=CONFIG, parse_env_config=False)
    assert isinstance(tap.run, RunContext)
    for stream in tap.streams.values():
        assert stream.run is tap.run, stream.name  # type: ignore[attr-defined]
    assert tap.run.writer is tap.message_writer
    assert tap.run.plugin_version == tap.plugin_version
    assert tap.run.requests_per_minute == 0


def test_a_stream_of_another_tap_says_what_it_needs() -> None:
    class OtherTap(Tap):
        name = "other"
        config_jsonschema: t.ClassVar[dict[str, t.Any]] = {"type": "object", "properties": {}}

        def discover_streams(self) -> list[TeamsStream]:
            return [TeamsStream(tap=self)]

    stream = t.cast("TeamsStream", OtherTap(config={}, parse_env_config=False).streams["teams"])
    with pytest.raises(TypeError, match="needs a tap with a RunContext"):
        _ = stream.run


def test_both_writers_hold_versions() -> None:
    for writer in (BufferedMsgSpecWriter(), AirbyteWriter()):
        assert isinstance(writer, VersionHoldingWriter), type(writer).__name__


def test_session_days_are_handed_over_once() -> None:
    days = SessionDays()
    days.put("s1", [{"Id": "d1"}, {"Id": "d2"}])
    assert days.take("s1") == [{"Id": "d1"}, {"Id": "d2"}]
    assert days.take("s1") == []
    assert days.take("never-read") == []


def test_ilt_session_days_come_through_the_hand_off(sandbox: LitmosSandbox, config: dict) -> None:
    catalog = catalog_selecting(config, "ilt_sessions", "ilt_session_days")
    run = run_tap(config, catalog=catalog)
    days = run.records("ilt_session_days")
    truth = sandbox.truth("ilt_session_days")
    assert len(days) == len(truth) > 0
    assert run.tap is not None
    assert run.tap.run.session_days.take(days[0]["SessionId"]) == []  # each handed out once


def test_only_the_run_property_and_the_seams_reach_the_tap() -> None:
    private = re.compile(r"\b_tap\b")
    for path in PACKAGE.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        if path.name == "sdk_seams.py":
            continue
        assert "self._tap." not in text, path
        assert not private.search(text), f"{path}: the SDK's `_tap` outside sdk_seams.py"


def test_progress_knows_no_access_pattern() -> None:
    tree = ast.parse((PACKAGE / "progress.py").read_text(encoding="utf-8"))
    imported = {
        node.module
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module is not None
    }
    assert "tap_litmos.patterns" not in imported
    assert "isinstance(stream" not in (PACKAGE / "progress.py").read_text(encoding="utf-8")


def test_a_fan_out_is_planned_and_announced_as_one(
    sandbox: LitmosSandbox, config: dict, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="tap-litmos")
    run_tap(config, catalog=catalog_selecting(config, "users", "user_badges"))
    lines = [r.getMessage() for r in caplog.records if r.name == "tap-litmos"]
    (plan,) = [line for line in lines if line.startswith("Plan: ")]
    assert "; 1 per users row for the fan-out user_badges)" in plan
    assert "user_badges: started, fan-out, 1 request per users row" in lines
    assert len(sandbox.truth("users")) > 0
