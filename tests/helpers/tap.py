"""Run the tap in-process and read what it wrote.

The tap runs in-process (fast, and retries can skip their sleeps) but talks to the
sandbox only over HTTP, exactly as it talks to Litmos. Its stdout is read by the one
Singer reader (`tests/helpers/singer.py`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import typing as t

from tap_litmos.tap import TapLitmos
from tests.helpers.catalog import catalog_selecting
from tests.helpers.expect import API_KEY
from tests.helpers.singer import SingerOutput, parse_text


@dataclasses.dataclass
class TapRun(SingerOutput):
    """One in-process tap run: its Singer output, the error it raised, the tap object."""

    error: BaseException | None = None
    tap: TapLitmos | None = None


class _Capture(io.TextIOWrapper):
    """A text stdout with a `.buffer`, as the msgspec writer needs."""

    def __init__(self) -> None:
        super().__init__(io.BytesIO(), encoding="utf-8", write_through=True)

    def text(self) -> str:
        self.flush()
        return self.buffer.getvalue().decode()  # type: ignore[attr-defined]


def run_tap(
    config: dict[str, t.Any],
    state: dict | None = None,
    catalog: dict | None = None,
    *,
    allow_failure: bool = False,
) -> TapRun:
    """Run a full sync in-process and parse what it wrote (also when it fails)."""
    out = _Capture()
    error = None
    tap = None
    with contextlib.redirect_stdout(out):
        try:
            tap = TapLitmos(config=config, state=state, catalog=catalog, parse_env_config=False)
            tap.sync_all()
        except Exception as exc:
            if not allow_failure:
                raise
            error = exc
    text = out.text()
    assert API_KEY not in text  # whatever the server sent, the key is in no message
    return TapRun(parse_text(text), error, tap)


def run_achievements(
    config: dict[str, t.Any], state: dict | None = None, *, allow_failure: bool = False
) -> TapRun:
    """`run_tap` with only `achievements` selected: for tests of what every stream inherits."""
    catalog = catalog_selecting(config, "achievements")
    return run_tap(config, state, catalog, allow_failure=allow_failure)
