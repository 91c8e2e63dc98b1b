"""The ways Litmos endpoints are read, one small base each, over `LitmosStream`.

- `SnapshotStream`: the whole list every run (FULL_TABLE), with ACTIVATE_VERSION so a
  target can drop rows deleted in Litmos.
- `DescendingSinceStream`: newest first with a server-side `since` (``/achievements``):
  paging stops at the first page that reaches rows older than the cutoff.
- `DateWindowStream`: the ``/org/*`` delta family, which needs `since` and `to` at most
  7 days apart: ascending windows from the starting value to now, each paged, with
  the bookmark moved to the end of every finished window.
- `FanOutStream`: a fan-out, one request per parent record, off by default; the state
  stays flat.

Each answers for its own plan (`plan`): how it is read and the least requests it takes.
"""

from __future__ import annotations

import datetime as dt
import functools
import sys
import typing as t
from http import HTTPStatus

from tap_litmos import sdk_seams
from tap_litmos.client import LitmosStream
from tap_litmos.parsing import format_datetime, format_since, to_datetime_text
from tap_litmos.progress import StreamPlan

if t.TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    import requests
    from singer_sdk.helpers.types import Context, Record

    from tap_litmos.api import Rows

if sys.version_info >= (3, 12):
    from typing import override
else:  # Python < 3.12
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
    def plan(self, *, selected: bool = True) -> StreamPlan:
        cutoff = self.starting_cutoff
        since = format_datetime(cutoff) if cutoff else None
        passes = len(self.partitions or (None,))
        return StreamPlan(self.name, "newest first", passes, since=since, selected=selected)

    @override
    def filter_params(self, context: Context | None) -> dict[str, t.Any]:
        cutoff = self.starting_cutoff
        return {"since": format_since(cutoff)} if cutoff else {}

    @override
    def page_reaches_end(self, rows: Rows) -> bool:
        # The comparison `wanted` makes, on the page's last (oldest) row: a row older
        # than the cutoff means every later page is older still.
        cutoff = self._cutoff_text
        if not cutoff:
            return False
        try:
            oldest = to_datetime_text(rows[-1].get(self.replication_key))  # type: ignore[arg-type]  # a cutoff implies a replication key
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

    No window ends after Litmos's own "now" (the `Date` of its first page), whatever
    this machine's clock says, and an incremental run starts `overlap_minutes` before
    the bookmark: a change stamped just before the last run's end but visible only
    after it is read by the next run.
    """

    replication_key = "UpdatedDate"
    #: Litmos refuses `to - since` over 7 days (406).
    MAX_SPAN = dt.timedelta(days=7)
    #: The most a window holds: it asks for one second more on each side.
    FULL_WINDOW = MAX_SPAN - 2 * ONE_SECOND
    # Records are emitted sorted, so the SDK may move the bookmark as they go; that
    # needs a stream-level state (no partitioning keys), which stays flat.
    is_sorted = True
    state_partitioning_keys = sdk_seams.STREAM_BOOKMARK
    #: When Litmos answered the current window's first page (its `Date` header).
    _window_answered_at: dt.datetime | None = None

    @functools.cached_property
    def walk_start(self) -> dt.datetime:
        """Where the first window starts: the starting cutoff, or the account's beginning."""
        return self.starting_cutoff or self.run.account_start

    @functools.cached_property
    def walk_end(self) -> dt.datetime:
        """Where the walk is planned to end: Litmos's clock as the run knows it at the start.

        The last window's end is then set to the `Date` of its own first page.
        """
        return self.run.clock.now()

    @override
    def plan(self, *, selected: bool = True) -> StreamPlan:
        # The windows follow from the starting value: known exactly before any request.
        windows = list(self.windows())
        since = format_datetime(windows[0][0])
        return StreamPlan(
            self.name, "7-day windows", len(windows), len(windows), since, None, selected
        )

    def windows(self) -> Iterator[tuple[dt.datetime, dt.datetime, bool]]:
        """(start, end, is_last) of each window planned from `walk_start` to `walk_end`.

        A window asks for `since - 1 s` to `end + 1 s`, so it holds at most 7 days less
        2 seconds. The last one asks for `to` as far ahead as the 7 days allow ("`to`
        must be in the future to include today").
        """
        start = self.walk_start
        while True:
            end, is_last = self._window_from(start)
            yield start, end, is_last
            if is_last:
                return
            start = end

    def _window_from(self, start: dt.datetime) -> tuple[dt.datetime, bool]:
        if self.walk_end - start > self.FULL_WINDOW:
            return start + self.FULL_WINDOW, False
        return self.walk_end, True

    @override
    def filter_params(self, context: Context | None) -> dict[str, t.Any]:
        start, end, is_last = self._window
        since = start - ONE_SECOND
        to = since + self.MAX_SPAN if is_last else end + ONE_SECOND
        return {"since": format_since(since), "to": format_since(to)}

    @override
    def get_records(self, context: Context | None) -> Iterable[dict[str, t.Any]]:
        start = self.walk_start
        self._rewind_bookmark_to(format_datetime(start))
        while True:
            planned_end, is_last = self._window_from(start)
            self._window = (start, planned_end, is_last)
            self._window_answered_at = None
            rows = list(super().get_records(context))
            # Not past what the window asked for (a long run's last window may get there),
            # nor past Litmos's time when it answered the first page (its Date header):
            # what it stamped later may be missing from the pages.
            span_end = start + self.FULL_WINDOW if is_last else planned_end
            answered = self._window_answered_at
            litmos_now = answered or self.run.clock.now()
            end = min(litmos_now, span_end)
            # The rows are emitted up to the end of that Date second (all the answer can
            # hold), the bookmark stays at its start: the next run reads that second again.
            seen = min(litmos_now + ONE_SECOND, span_end) if answered else end
            low, key = format_datetime(start), self.replication_key
            high = format_datetime(seen)
            yield from sorted((r for r in rows if low <= r[key] < high), key=lambda r: r[key])
            self._finish_window(format_datetime(max(end, start)))
            self.run.progress.window_done(self.name)
            if end >= litmos_now or end <= start:  # up to Litmos's now, or no way forward
                return
            start = end

    @override
    def validate_response(self, response: requests.Response) -> None:
        super().validate_response(response)
        if self._window_answered_at is None:
            self._window_answered_at = self.last_server_date

    @override
    def wanted(self, record: Record) -> bool:
        return True  # each window keeps only its own rows (`get_records`)

    def _rewind_bookmark_to(self, start: str) -> None:
        # With `lookback_days` the first window starts before the bookmark. The SDK moves
        # a sorted stream's bookmark with each record and refuses one older than it, so
        # the bookmark starts the run where the walk does: it only ever covers what this
        # run has emitted, and moves on as the windows finish.
        sdk_seams.rewind_bookmark(self, start)

    def _finish_window(self, end: str) -> None:
        # Every row of the window has been processed (the generator resumes only after
        # the SDK has taken the last one), so the bookmark may cover the window. It is
        # set to the end even where the SDK moved it past (to the last row of the Date
        # second): only up to the end is nothing left unseen.
        sdk_seams.finish_window_bookmark(self, str(self.replication_key), end)


class ParentGoneError(Exception):
    """Litmos answered 404 for a parent read moments ago: it was deleted in between."""


class FanOutStream(LitmosStream):
    """A fan-out: one request per parent record, so off by default (selected by name)."""

    selected_by_default = False

    @override
    def plan(self, *, selected: bool = True) -> StreamPlan:
        parent = self.parent_stream_type.name if self.parent_stream_type else None
        how = f"fan-out, 1 request per {parent} row"
        return StreamPlan(self.name, how, None, None, None, parent, selected)

    @override
    def validate_response(self, response: requests.Response) -> None:
        if response.status_code == HTTPStatus.NOT_FOUND:
            raise ParentGoneError(response.url)
        super().validate_response(response)

    @override
    def get_records(self, context: Context | None) -> Iterable[dict[str, t.Any]]:
        try:
            yield from super().get_records(context)
        except ParentGoneError:
            # A parent deleted since the parent list was read has nothing left to read:
            # its children are skipped, the rest of the run goes on.
            self.logger.warning("Skipped %s of %s: Litmos no longer has it", self.name, context)
