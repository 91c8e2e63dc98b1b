"""The ways Litmos endpoints are read, one small base each, over `LitmosStream`.

- `SnapshotStream`: the whole list every run (FULL_TABLE), with ACTIVATE_VERSION so a
  target can drop rows deleted in Litmos.
- `DescendingSinceStream`: newest first with a server-side `since` (``/achievements``):
  paging stops at the first page that reaches rows older than the cutoff.
- `DateWindowStream`: the ``/org/*`` delta family, which needs `since` and `to` at most
  7 days apart: ascending windows from the starting value to now, each paged, with
  the bookmark moved to the end of every finished window.
- `ChildStream`: one request (or none) per parent record, opt-in; the state stays flat.
"""

from __future__ import annotations

import datetime as dt
import functools
import typing as t
from http import HTTPStatus

from tap_litmos.client import LitmosStream
from tap_litmos.parsing import format_datetime, format_since, parse_datetime, to_datetime_text

if t.TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    import requests
    from singer_sdk.helpers.types import Context, Record

try:
    from typing import override  # type: ignore[attr-defined]
except ImportError:  # Python < 3.12
    from typing_extensions import override

ONE_SECOND = dt.timedelta(seconds=1)


class SnapshotStream(LitmosStream):
    """A list read whole on every run (FULL_TABLE)."""

    @property
    @override
    def emit_activate_version_messages(self) -> bool:
        # Each run is a complete copy: a target that honours ACTIVATE_VERSION can then
        # drop (or mark deleted) the rows this run did not send. The message goes out
        # once the stream is read in full (LitmosStream.sync, writer.py).
        return True


class DescendingSinceStream(LitmosStream):
    """Newest first, filtered on the server by `since` (the replication key's value)."""

    @override
    def filter_params(self, context: Context | None) -> dict[str, t.Any]:
        cutoff = self.starting_cutoff
        return {"since": format_since(cutoff)} if cutoff else {}

    @override
    def page_reaches_end(self, rows: list[dict]) -> bool:
        # The comparison `wanted` makes, on the page's last (oldest) row: a row older
        # than the cutoff means every later page is older still.
        cutoff = self._cutoff_text
        if not cutoff:
            return False
        try:
            oldest = to_datetime_text(rows[-1].get(self.replication_key))
        except ValueError:
            return False  # to_record fails the run on it, naming the record
        return oldest is not None and oldest < cutoff


class DateWindowStream(LitmosStream):
    """A ``/org/*`` delta endpoint: rows created or changed between `since` and `to`.

    Windows are half-open, ``[start, end)`` on the replication key, and follow each
    other without a gap. Each is asked for one second wider on both sides, so nothing
    at an edge is lost whether Litmos reads `since` and `to` as inclusive or exclusive
    (undocumented), and the rows outside the window are left to its neighbour, so none
    is emitted twice. A window's rows are emitted in replication-key order, and when
    it is finished the bookmark moves to its end: an interrupted backfill resumes at
    the last finished window, and a quiet stream's bookmark still keeps up with time.
    """

    replication_key = "UpdatedDate"
    #: Litmos refuses `to - since` over 7 days (406).
    MAX_SPAN = dt.timedelta(days=7)
    # Records are emitted sorted, so the SDK may move the bookmark as they go; that
    # needs a stream-level state (no partitioning keys), which stays flat.
    is_sorted = True
    state_partitioning_keys = None

    @functools.cached_property
    def run_started(self) -> dt.datetime:
        """The end of the last window: nothing changed after the run began is read."""
        return parse_datetime(self._signpost)  # type: ignore[return-value]

    def windows(self) -> Iterator[tuple[dt.datetime, dt.datetime, bool]]:
        """(start, end, is_last) of each window from the starting value to the run start.

        A window asks for `since - 1 s` to `end + 1 s`, so it holds at most 7 days less
        2 seconds. The last one asks for `to` as far ahead as the 7 days allow ("`to`
        must be in the future to include today"); it ends at the run's start.
        """
        start = self.starting_cutoff or self._tap.account_start  # type: ignore[attr-defined]
        end_of_run = self.run_started
        full = self.MAX_SPAN - 2 * ONE_SECOND
        while end_of_run - start > full:
            yield start, start + full, False
            start += full
        yield start, end_of_run, True

    @override
    def filter_params(self, context: Context | None) -> dict[str, t.Any]:
        start, end, is_last = self._window
        since = start - ONE_SECOND
        to = since + self.MAX_SPAN if is_last else end + ONE_SECOND
        return {"since": format_since(since), "to": format_since(to)}

    @override
    def get_records(self, context: Context | None) -> Iterable[dict]:
        self._rewind_bookmark_to(format_datetime(self.starting_cutoff or self.run_started))
        for window in self.windows():
            self._window = window
            start, end = format_datetime(window[0]), format_datetime(window[1])
            key = self.replication_key
            rows = [r for r in super().get_records(context) if start <= r[key] < end]
            rows.sort(key=lambda r: r[key])
            yield from rows
            self._finish_window(end)
            self._tap.progress.window_done(self.name)  # type: ignore[attr-defined]

    @override
    def to_record(self, row: t.Mapping[str, object], context: Context | None) -> Record | None:
        record = super().to_record(row, context)
        if record is not None and record[self.replication_key] is None:
            why = f"it has no {self.replication_key}, so no window holds it"
            raise self.unreadable(row, why)
        return record

    @override
    def wanted(self, record: Record) -> bool:
        return True  # each window keeps only its own rows (`get_records`)

    def _rewind_bookmark_to(self, start: str) -> None:
        # With `lookback_days` the first window starts before the bookmark. The SDK moves
        # a sorted stream's bookmark with each record and refuses one older than it, so
        # the bookmark starts the run where the walk does: it only ever covers what this
        # run has emitted, and moves on as the windows finish.
        state = self.stream_state
        if (state.get("replication_key_value") or "") > start:
            state["replication_key_value"] = start

    def _finish_window(self, end: str) -> None:
        # Every row of the window has been processed (the generator resumes only after
        # the SDK has taken the last one), so the bookmark may cover the window.
        state = self.stream_state
        if end > (state.get("replication_key_value") or ""):
            state["replication_key"] = self.replication_key
            state["replication_key_value"] = end
        if self.get_batch_config(self.config):
            # With BATCH the rows may still wait in an unwritten batch file: the SDK
            # writes a STATE after each BATCH message, and that one carries this end.
            return
        # Stream.tap_state is the SDK's writable state; its StateWriter skips repeats.
        self._tap.state_writer.write_state(self.tap_state)


class ParentGoneError(Exception):
    """Litmos answered 404 for a parent read moments ago: it was deleted in between."""


class ChildStream(LitmosStream):
    """Read once per parent record: opt-in, since it costs a request per parent."""

    selected_by_default = False

    @override
    def validate_response(self, response: requests.Response) -> None:
        if response.status_code == HTTPStatus.NOT_FOUND:
            raise ParentGoneError(response.url)
        super().validate_response(response)

    @override
    def get_records(self, context: Context | None) -> Iterable[dict]:
        try:
            yield from super().get_records(context)
        except ParentGoneError:
            # A parent deleted since the parent list was read has nothing left to read:
            # its children are skipped, the rest of the run goes on.
            self.logger.warning("Skipped %s of %s: Litmos no longer has it", self.name, context)
