"""One test per Singer SDK seam (tap_litmos/sdk_seams.py): run after an SDK upgrade.

    python3 run_tests.py tests/tap_litmos/test_sdk_seams.py

Each test is named after its seam and fails with a message that names it and says what
the SDK no longer does; docs/development.md ("Upgrading the Singer SDK") lists them.
Nothing here needs a server: the seams are about the SDK's objects, not Litmos.
"""

from __future__ import annotations

import ast
import contextlib
import importlib.metadata
import io
import json
import signal
import typing as t
from pathlib import Path

import pytest
import singer_sdk
from singer_sdk.exceptions import ConfigValidationError

from tap_litmos import sdk_seams
from tap_litmos.tap import TapLitmos

pytestmark = pytest.mark.unit

CONFIG = {"api_key": "k", "api_url": "http://127.0.0.1:9/v1.svc", "max_requests_per_minute": 0}
SDK_VERSION = importlib.metadata.version("singer-sdk")


def broke(seam: str, what: str) -> str:
    """The failure message: which seam, and what the SDK no longer does."""
    return f"SDK seam `{seam}` broke with singer-sdk {SDK_VERSION}: {what}"


def tap(state: dict[str, t.Any] | None = None, **config: t.Any) -> TapLitmos:
    return TapLitmos(config={**CONFIG, **config}, state=state, parse_env_config=False)


class _Stdout(io.TextIOWrapper):
    """A text stdout with a `.buffer`, as the tap's msgspec writer needs."""

    def __init__(self) -> None:
        super().__init__(io.BytesIO(), encoding="utf-8", write_through=True)

    def messages(self) -> list[dict[str, t.Any]]:
        self.flush()
        raw = t.cast("io.BytesIO", self.buffer).getvalue().decode()
        return [json.loads(line) for line in raw.splitlines() if line]


# --- 1. tap_of ---------------------------------------------------------------------------


def test_seam_tap_of() -> None:
    built = tap()
    stream = built.streams["teams"]
    try:
        found = sdk_seams.tap_of(stream)
    except AttributeError as exc:
        pytest.fail(broke("tap_of", f"a stream no longer keeps its tap as `_tap` ({exc})"))
    assert found is built, broke("tap_of", "`Stream._tap` is not the tap that built the stream")


# --- 2. rewind_bookmark / finish_window_bookmark -------------------------------------------


def test_seam_rewind_bookmark() -> None:
    bookmark = {
        "replication_key": "UpdatedDate",
        "replication_key_value": "2026-03-10T00:00:00.000Z",
    }
    built = tap(state={"bookmarks": {"course_results": dict(bookmark)}})
    stream = built.streams["course_results"]
    sdk_seams.rewind_bookmark(stream, "2026-03-01T00:00:00.000Z")
    held = built.state["bookmarks"]["course_results"].get("replication_key_value")
    assert held == "2026-03-01T00:00:00.000Z", broke(
        "rewind_bookmark",
        "`Stream.stream_state` is no longer the live bookmark inside the tap's state",
    )
    sdk_seams.rewind_bookmark(stream, "2026-03-05T00:00:00.000Z")  # never moves it forward
    assert built.state["bookmarks"]["course_results"]["replication_key_value"] == held


def test_seam_finish_window_bookmark() -> None:
    built = tap()
    stream = built.streams["course_results"]
    out = _Stdout()
    with contextlib.redirect_stdout(out):
        sdk_seams.finish_window_bookmark(stream, "UpdatedDate", "2026-03-08T00:00:00.000Z")
        sdk_seams.finish_window_bookmark(stream, "UpdatedDate", "2026-03-08T00:00:00.000Z")
        built.message_writer.flush()
    states = [m["value"] for m in out.messages() if m["type"] == "STATE"]
    want = {"replication_key": "UpdatedDate", "replication_key_value": "2026-03-08T00:00:00.000Z"}
    assert states, broke("finish_window_bookmark", "`Tap.state_writer.write_state` wrote no STATE")
    assert states[-1]["bookmarks"]["course_results"] == want, broke(
        "finish_window_bookmark",
        "the STATE written does not carry the bookmark written into `Stream.stream_state`",
    )
    assert len(states) == 1, broke("finish_window_bookmark", "the state writer repeats a STATE")


# --- 3. FLAT_BOOKMARK / STREAM_BOOKMARK -------------------------------------------------------


def test_seam_flat_bookmark() -> None:
    built = tap(user_ids=["u1", "u2"])
    for name, context in (("achievements", {"userid": "u1"}), ("user_badges", {"UserId": "u1"})):
        stream = built.streams[name]
        assert stream.state_partitioning_keys == sdk_seams.FLAT_BOOKMARK
        assert stream.get_context_state(context) is stream.stream_state, broke(
            "FLAT_BOOKMARK",
            f"state_partitioning_keys = [] no longer gives {name} one stream-level bookmark",
        )
    assert "partitions" not in built.state.get("bookmarks", {}).get("achievements", {})


def test_seam_stream_bookmark() -> None:
    built = tap()
    stream = built.streams["course_results"]
    assert stream.state_partitioning_keys is sdk_seams.STREAM_BOOKMARK
    assert stream.get_context_state(None) is stream.stream_state, broke(
        "STREAM_BOOKMARK",
        "state_partitioning_keys = None no longer gives a stream without context its"
        " stream-level state",
    )


# --- 4. ConfigValidationHook ------------------------------------------------------------------


def test_seam_config_validation_hook() -> None:
    with pytest.raises(ConfigValidationError) as refused:
        tap(start_date="yesterday-ish")
    assert refused.value.errors == [
        "Setting 'start_date': must be an ISO 8601 date or date-time such as 2024-01-31 or"
        " 2024-01-31T08:00:00Z, got 'yesterday-ish'"
    ], broke(
        "ConfigValidationHook",
        "`PluginBase.__init__` no longer validates through `_validate_config`",
    )
    # Without raise_errors the problems are returned, and the SDK's own checks still run.
    lenient = TapLitmos(
        config={**CONFIG, "start_date": "nope"}, parse_env_config=False, validate_config=False
    )
    assert lenient._validate_config(raise_errors=False) == [  # noqa: SLF001 (the seam)
        "Setting 'start_date': must be an ISO 8601 date or date-time such as 2024-01-31 or"
        " 2024-01-31T08:00:00Z, got 'nope'"
    ]
    with pytest.raises(ConfigValidationError) as builtin:
        tap(batch_config=5)
    assert builtin.value.errors, broke(
        "ConfigValidationHook", "the SDK's schema validation of its built-in settings is lost"
    )


# --- 5. plan_without_bookmarks --------------------------------------------------------------


def test_seam_plan_without_bookmarks() -> None:
    built = tap()
    with sdk_seams.plan_without_bookmarks(built):
        _ = built.streams["course_results"].stream_state
        added = json.loads(json.dumps(built.state))
    assert added == {"bookmarks": {"course_results": {}}}, broke(
        "plan_without_bookmarks",
        f"reading `Stream.stream_state` no longer adds an empty bookmark (state: {added});"
        " the cleanup may be dropped",
    )
    assert built.state == {}, broke("plan_without_bookmarks", "an empty bookmark is left")

    mark = {"replication_key": "AchievementDate", "replication_key_value": "2026-01-01T00:00:00Z"}
    kept = tap(state={"bookmarks": {"achievements": mark}})
    before = json.loads(json.dumps(kept.state))
    with sdk_seams.plan_without_bookmarks(kept):
        _ = kept.streams["course_results"].stream_state
    assert kept.state == before  # a bookmark that held something stays


# --- 6. SDK log lines recognised by their text ----------------------------------------------


def _sdk_sources() -> dict[Path, ast.Module]:
    root = Path(singer_sdk.__file__).parent
    return {path: ast.parse(path.read_text(encoding="utf-8")) for path in root.rglob("*.py")}


_SOURCES = _sdk_sources()


def _literals() -> set[str]:
    """Every string literal (and the leading text of every f-string) in the SDK's code."""
    found: set[str] = set()
    for module in _SOURCES.values():
        for node in ast.walk(module):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                found.add(node.value)
            elif isinstance(node, ast.JoinedStr) and node.values:
                first = node.values[0]
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    found.add(first.value)
    return found


_LITERALS = _literals()


@pytest.mark.parametrize("start", sdk_seams.SDK_CHATTER)
def test_seam_sdk_chatter(start: str) -> None:
    assert any(text.startswith(start) for text in _LITERALS), broke(
        "SDK_CHATTER",
        f"no SDK log line starts with {start!r} any more: quiet.py demotes nothing for it"
        " (find the new wording, or drop the entry)",
    )
    assert sdk_seams.is_sdk_chatter(start + "x")


def test_seam_unhandled_error() -> None:
    logged = [
        node.args[0].value
        for module in _SOURCES.values()
        for node in ast.walk(module)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "log"
        and node.args
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
    ]
    assert any(sdk_seams.is_unhandled_error(text) for text in logged), broke(
        "UNHANDLED_ERROR",
        f"the SDK no longer logs {sdk_seams.UNHANDLED_ERROR!r} through `Stream.log`: the"
        " stream base's demotion of that repeat of a failure does nothing",
    )


# --- 7. TerminationExitHook -----------------------------------------------------------------


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_seam_termination_exit_hook(signum: int, capsys: pytest.CaptureFixture[str]) -> None:
    built = tap(state={"bookmarks": {"achievements": {"replication_key_value": "x"}}})
    handler = signal.getsignal(signum)
    assert getattr(handler, "__func__", None) is TapLitmos._handle_termination, broke(  # noqa: SLF001 (the seam)
        "TerminationExitHook", "the SDK no longer installs `_handle_termination` for the signal"
    )
    with pytest.raises(SystemExit) as stopped:
        built._handle_termination(signum, None)  # noqa: SLF001 (the seam)
    assert stopped.value.code == 128 + signum, broke(
        "TerminationExitHook", "`Tap._handle_termination` no longer leaves through sys.exit"
    )
    states = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [m["type"] for m in states] == ["STATE"], broke(
        "TerminationExitHook", "`Tap._handle_termination` no longer writes the state first"
    )
