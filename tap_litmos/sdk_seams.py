"""Every place the tap relies on Singer SDK internals: one named seam each.

The SDK documents its public hooks (`get_url_params`, `validate_response`,
`request_decorator`, `get_replication_key_signpost` ...); the tap uses those freely.
What it needs beyond them lives here, each seam with what it relies on, so that an SDK
upgrade is checked in one place: `tests/tap_litmos/test_sdk_seams.py` has one test per
seam, named after it, and docs/development.md ("Upgrading the Singer SDK") lists them.

Seams:

1. `tap_of`: a stream's tap is its private `_tap` attribute.
2. `rewind_bookmark` / `finish_window_bookmark`: a date window moves its stream's
   bookmark by writing `Stream.stream_state` (a live dict inside the tap's state) and
   writes the state through `Tap.state_writer`, whose STATE lines skip repeats.
3. `FLAT_BOOKMARK` / `STREAM_BOOKMARK`: `state_partitioning_keys = []` gives one
   bookmark per stream whatever the partitions or parent; None (with `is_sorted`) a
   stream-level state the SDK may move record by record.
4. `ConfigValidationHook`: the SDK validates the config in `PluginBase.__init__` by
   calling `_validate_config(raise_errors=...)`, which the tap overrides to run its own
   checks first.
5. `plan_without_bookmarks`: reading `Stream.stream_state` adds an empty bookmark to the
   tap's state; planning a run reads it, so the plan removes what it added.
6. `SDK_CHATTER` / `is_sdk_chatter` and `UNHANDLED_ERROR` / `is_unhandled_error`: SDK
   log lines recognised by the start of their text (quiet.py demotes them to DEBUG; the
   stream base demotes the SDK's repeat of a failure).
7. `TerminationExitHook`: the SDK handles SIGINT and SIGTERM in `_handle_termination`
   (installed by `PluginBase.__init__`), which writes the state and exits 0; the tap
   exits 128 + the signal instead, so a stopped run never passes for a finished one.
"""

from __future__ import annotations

import contextlib
import sys
import typing as t

from singer_sdk import Tap
from singer_sdk.exceptions import ConfigValidationError

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping
    from types import FrameType

    from singer_sdk.streams import Stream

if sys.version_info >= (3, 12):
    from typing import override
else:  # Python < 3.12
    from typing_extensions import override


# --- 1. A stream's tap -------------------------------------------------------------------


def tap_of(stream: Stream) -> Tap:
    """The tap a stream belongs to.

    Relies on: the SDK keeps it as `Stream._tap` (set in `Stream.__init__`), with no
    public accessor.
    """
    return stream._tap  # noqa: SLF001 (the SDK's only reference to a stream's tap)


# --- 2. A date window's bookmark -----------------------------------------------------------


def rewind_bookmark(stream: Stream, start: str) -> None:
    """Start a sorted stream's bookmark at `start` when it is later (lookback_days).

    Relies on: `Stream.stream_state` is the writable dict the SDK keeps the stream's
    bookmark in (`replication_key_value`), and the SDK refuses, for a sorted stream, a
    record older than the bookmark it holds.
    """
    state = stream.stream_state
    if (state.get("replication_key_value") or "") > start:
        state["replication_key_value"] = start


def finish_window_bookmark(stream: Stream, replication_key: str, end: str) -> None:
    """Set the stream's bookmark to `end` and write the tap's state now (not with BATCH).

    Relies on: writing `replication_key`/`replication_key_value` into `Stream.stream_state`
    is what the SDK writes for a sorted stream, and `Tap.state_writer.write_state` writes
    a STATE message of the tap's whole state (`Stream.tap_state`), skipping a repeat.
    With BATCH the rows may still wait in an unwritten batch file: the SDK writes a
    STATE after each BATCH message, and that one carries this end.
    """
    state = stream.stream_state
    state["replication_key"] = replication_key
    state["replication_key_value"] = end
    if stream.get_batch_config(stream.config):
        return
    tap_of(stream).state_writer.write_state(stream.tap_state)


# --- 3. Flat bookmarks ------------------------------------------------------------------


#: `state_partitioning_keys` for one flat bookmark per stream, never one per partition
#: or parent record (the SDK's per-partition state is quadratic in parents). Relies on:
#: an empty list makes every context share the stream-level state.
FLAT_BOOKMARK: t.Final[list[str]] = []
#: `state_partitioning_keys` for a stream-level state the SDK moves with each sorted
#: record. Relies on: None means "partition by the context", and a stream without a
#: context or partitions then has just its stream-level state.
STREAM_BOOKMARK: t.Final[None] = None


# --- 4. Config validation -------------------------------------------------------------------


class ConfigValidationHook(Tap):
    """A tap whose own config checks run first, wherever the SDK validates the config.

    Relies on: `PluginBase.__init__` calls `self._validate_config(raise_errors=...)` with
    the raw config in `self._config`, and `ConfigValidationError(summary, errors=...,
    schema=...)` carries the lines the command line prints.
    """

    def config_problems(self, config: Mapping[str, t.Any]) -> list[str]:
        """One line per bad setting of `config` (none: the SDK's own checks follow)."""
        del config
        return []

    @override
    def _validate_config(self, *, raise_errors: bool = True) -> list[str]:
        problems = self.config_problems(self._config)
        if problems and raise_errors:
            summary = "Config validation failed"
            raise ConfigValidationError(summary, errors=problems, schema=self.config_jsonschema)
        # The SDK's validation still covers its built-in settings (stream_maps, ...).
        return problems or super()._validate_config(raise_errors=raise_errors)


# --- 5. Planning reads the state --------------------------------------------------------


@contextlib.contextmanager
def plan_without_bookmarks(tap: Tap) -> Iterator[None]:
    """Leave the tap's state as it was, but for bookmarks that held something before.

    A date-window stream's plan reads `Stream.stream_state`. Relies on: the SDK creates
    an empty bookmark (`{}`, and the `bookmarks` key itself) in the tap's state on that
    read; those are removed, so the first STATE of the run is what it would have been
    without a plan.
    """
    bookmarks = tap.state.get("bookmarks")
    had = set(bookmarks) if bookmarks is not None else None
    yield
    bookmarks = tap.state.get("bookmarks", {})
    for name in [n for n, value in bookmarks.items() if value == {}]:
        if had is None or name not in had:
            del bookmarks[name]
    if had is None and not bookmarks:
        tap.state.pop("bookmarks", None)


# --- 6. SDK log lines recognised by their text ----------------------------------------------


#: The beginnings of the SDK's INFO lines (and one WARNING) that the tap's own lines
#: replace (quiet.py). Relies on: the SDK's wording of each, on the tap's, the streams'
#: and the `singer_sdk` loggers.
SDK_CHATTER: t.Final[tuple[str, ...]] = (
    "Beginning sync of '",  # per stream, and per parent record for a fan-out stream
    "Pagination stopped after ",  # per empty page: most date windows
    "Skipping deselected stream '",  # one line names them all (progress.py)
    "Starting incremental sync of '",  # the stream's start line gives its start
    "Added '",  # "... as child stream to ..."
    # A WARNING for achievements, whose bookmark waits for the end by design (patterns.py).
    "Stream is assumed to be unsorted",
    "Skipping parse of env var settings",
    "Parsing env var for settings config",
)
#: The start of the line the SDK adds to every failure of a stream's sync. Relies on: its
#: wording, and that it goes through `Stream.log` (which the stream base overrides).
UNHANDLED_ERROR: t.Final = "An unhandled error occurred"


def is_sdk_chatter(message: str) -> bool:
    """Whether a log message is SDK chatter the tap's own lines make redundant."""
    return message.startswith(SDK_CHATTER)


def is_unhandled_error(message: str) -> bool:
    """Whether a log message is the SDK's repeat of a stream failure the tap reports."""
    return message.startswith(UNHANDLED_ERROR)


# --- 7. Termination by a signal --------------------------------------------------------------


class TerminationExitHook(Tap):
    """A tap that a signal stops with exit code 128 + the signal, as a shell reports it.

    Relies on: `PluginBase.__init__` installs `self._handle_termination` for SIGINT and
    SIGTERM (in the main thread), and `Tap._handle_termination` writes the state, then
    leaves through `sys.exit(0)`.
    """

    def defer_termination(self, stop: Callable[[], None]) -> bool:
        """Whether `stop` must wait (the tap then calls it itself); by default it need not."""
        del stop
        return False

    @override
    def _handle_termination(self, signum: int, frame: FrameType | None) -> None:
        # The deferred call gets no frame: the interrupted one holds the block being written.
        if self.defer_termination(lambda: self._handle_termination(signum, None)):
            return
        try:
            super()._handle_termination(signum, frame)
        except SystemExit:
            raise SystemExit(128 + signum) from None
