"""What a person watching a run reads: the plan, per-stream lines, progress and the summary.

Before the first request, one line says which streams the run reads, how many requests
that takes at least (date windows are known exactly from each stream's starting value;
a list takes at least one page) and how long that is at the request budget. While the
run goes, the streams report through a few one-line hooks in the stream base
(`request_sent`, `retried`, `record_emitted`, `window_done`, `syncing`), and this module
decides what is said:

- a stream planned at more than one request (date windows, partitions, a fan-out's
  request per parent) says when it starts and when it ends; a stream done in one request is quiet,
  and its figures are in the summary;
- a stream that runs for longer than `PROGRESS_INTERVAL` seconds gets a progress line at
  most that often (run-wide): windows done of total, rows, requests, and the time left at
  the current pace and budget;
- at the end, a table of every stream, the totals and the time waited for the budget,
  then the same figures as one JSON line (``SUMMARY: {...}``) for an orchestrator.

Everything is plain `logging` on the tap's logger, so it reaches a person through a
terminal, `meltano run` and the Airbyte writer alike. Time comes from an injectable
clock, so the cadence is tested on a fake one.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import time
import typing as t

from tap_litmos import sdk_seams

if t.TYPE_CHECKING:
    import collections
    from collections.abc import Callable, Iterable, Iterator

    from tap_litmos.client import LitmosStream
    from tap_litmos.tap import TapLitmos

#: Seconds a stream runs before its first progress line, and between progress lines.
PROGRESS_INTERVAL = 30.0
#: What the one JSON summary line starts with, for an orchestrator to find it.
SUMMARY_MARKER = "SUMMARY: "


@dataclasses.dataclass
class StreamPlan:
    """How one stream is read, known before its first request."""

    name: str
    #: A few words for a person: "7-day windows", "snapshot", "newest first" ...
    how: str
    #: The least number of requests the stream makes (None: one per parent row).
    requests: int | None
    #: Date windows it walks (date-window streams only).
    windows: int | None = None
    #: The earliest instant it reads, in the canonical form (incremental streams).
    since: str | None = None
    #: The stream whose rows it is read for (fan-outs and streams read inside a parent).
    parent: str | None = None
    #: Emitted (False: read only for a selected child).
    selected: bool = True


@dataclasses.dataclass
class StreamTally:
    """What one stream has done so far."""

    plan: StreamPlan
    rows: int = 0
    requests: int = 0
    retries: int = 0
    windows_done: int = 0
    #: Requests sent for the windows done (the rest are for the window in hand).
    requests_in_windows: int = 0
    seconds: float = 0.0
    started_at: float | None = None
    status: str = "planned"  # planned, running, done, failed
    depth: int = 0  # nested sync calls: a fan-out syncs once per parent row

    @property
    def loud(self) -> bool:
        """Whether its start and end are worth a line: more than one request planned."""
        return self.plan.requests is None or self.plan.requests > 1


def plan_of(stream: LitmosStream, *, selected: bool = True) -> StreamPlan:
    """How `stream` will be read this run: each access pattern answers for its own."""
    return stream.plan(selected=selected)


def count(number: int, thing: str, things: str | None = None) -> str:
    """`1 row`, `1,234 rows`."""
    return f"{number:,} {thing if number == 1 else things or thing + 's'}"


def duration(seconds: float) -> str:
    """`12 s`, `3 min 24 s`, `1 h 5 min`: a time a person reads at a glance."""
    if seconds < 10:  # noqa: PLR2004
        return f"{max(0.0, seconds):.1f} s"
    seconds = round(seconds)
    if seconds < 60:  # noqa: PLR2004
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:  # noqa: PLR2004
        return f"{minutes} min {seconds} s" if seconds else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


class RunProgress:
    """The plan, progress and summary of one run (one per tap)."""

    def __init__(
        self,
        logger: logging.Logger,
        *,
        requests_per_minute: int,
        bad_values: collections.Counter[tuple[str, str]] | None = None,
        clock: Callable[[], float] = time.monotonic,
        interval: float = PROGRESS_INTERVAL,
    ) -> None:
        """Report to `logger`; `requests_per_minute` is the budget (0: none)."""
        self.logger = logger
        self.requests_per_minute = requests_per_minute
        self.bad_values = bad_values if bad_values is not None else {}
        self.clock = clock
        self.interval = interval
        self.streams: dict[str, StreamTally] = {}
        self.planned = False
        self.failed_stream: str | None = None
        #: The run failed or was stopped, in a stream or between two.
        self.failed = False
        self._started_at = clock()
        self._last_progress_at: float | None = None

    # --- The plan ---------------------------------------------------------------------

    def plan(self, plans: Iterable[StreamPlan], deselected: Iterable[str] = ()) -> None:
        """Log the plan line (and one line for every stream not selected)."""
        self.planned = True
        self._started_at = self.clock()
        for plan in plans:
            self.streams[plan.name] = StreamTally(plan)
        self.logger.info("%s", self.plan_text())
        skipped = list(deselected)
        if skipped:
            self.logger.info("Not selected (%d): %s", len(skipped), ", ".join(skipped))

    @property
    def planned_requests(self) -> int:
        """The least number of requests the plan needs."""
        return sum(s.plan.requests or 0 for s in self.streams.values())

    def plan_text(self) -> str:
        """`Plan: N streams (...): at least R requests (...), about T at B a minute`."""
        plans = [s.plan for s in self.streams.values()]
        emitted = [p.name for p in plans if p.selected]
        windowed = [p for p in plans if p.windows is not None]
        lists = [p for p in plans if p.windows is None and p.requests]
        parts = []
        if windowed:
            windows = sum(p.windows or 0 for p in windowed)
            earliest = min(p.since or "" for p in windowed)[:10]
            parts.append(
                f"{windows:,} for the 7-day windows of {count(len(windowed), 'stream')}"
                f" (from {earliest} on)"
            )
        if lists:
            first_pages = sum(p.requests or 0 for p in lists)
            parts.append(f"{first_pages:,} for the first pages of {count(len(lists), 'list')}")
        parts += [
            f"1 per {p.parent} row for the fan-out {p.name}" for p in plans if p.requests is None
        ]
        requests = self.planned_requests
        return (
            f"Plan: {count(len(emitted), 'stream')} ({', '.join(emitted)}): at least"
            f" {count(requests, 'request')} ({'; '.join(parts) or 'none'}),"
            f" {self._time_at_budget(requests)}"
        )

    def _time_at_budget(self, requests: float) -> str:
        if self.requests_per_minute <= 0:
            return "with no request budget (max_requests_per_minute 0)"
        minutes = requests / self.requests_per_minute
        return f"about {duration(minutes * 60)} at {self.requests_per_minute} requests a minute"

    # --- Hooks the streams call -------------------------------------------------------

    def _tally(self, name: str) -> StreamTally:
        tally = self.streams.get(name)
        if tally is None:  # read outside the plan (the account-start probe, --test)
            tally = self.streams[name] = StreamTally(StreamPlan(name, "extra", 0, selected=False))
        return tally

    @contextlib.contextmanager
    def syncing(self, stream: LitmosStream) -> Iterator[None]:
        """Around one `sync` call of `stream` (a fan-out has one per parent row)."""
        tally = self._tally(stream.name)
        began = self.clock()
        if tally.started_at is None:
            tally.started_at, tally.status = began, "running"
            self._log_start(tally)
        tally.depth += 1
        try:
            yield
        except BaseException:
            tally.status = "failed"
            self.failed_stream = self.failed_stream or stream.name
            raise
        finally:
            tally.depth -= 1
            tally.seconds += self.clock() - began
        if stream.parent_stream_type is None:  # its children are done with it
            for name in (stream.name, *(c.name for c in stream.child_streams)):
                if name in self.streams:
                    self._finish(self.streams[name])

    def request_sent(self, name: str) -> None:
        """One request (or retry) of `name` has taken its slot in the budget."""
        tally = self._tally(name)
        tally.requests += 1
        self._maybe_report(tally)

    def retried(self, name: str) -> None:
        """A request of `name` failed and will be sent again."""
        self._tally(name).retries += 1

    def record_emitted(self, name: str) -> None:
        """One record of `name` went to the target (counted for selected streams only)."""
        tally = self.streams.get(name)
        if tally is not None and tally.plan.selected:
            tally.rows += 1

    def window_done(self, name: str) -> None:
        """A date window of `name` is finished (its bookmark moved)."""
        tally = self._tally(name)
        tally.windows_done += 1
        tally.requests_in_windows = tally.requests

    # --- Lines while it runs ----------------------------------------------------------

    def _log_start(self, tally: StreamTally) -> None:
        plan = tally.plan
        what = plan.how
        if plan.since:
            what += f" from {plan.since}"
        elif plan.windows is None and plan.how == "newest first":
            what += " from the beginning"
        if plan.windows is not None:
            what += f", {plan.windows:,} windows planned"
        level = logging.INFO if self.planned and tally.loud else logging.DEBUG
        self.logger.log(level, "%s: started, %s", plan.name, what)

    def _finish(self, tally: StreamTally) -> None:
        if tally.status in {"done", "failed"} or tally.started_at is None:
            return
        tally.status = "done"
        loud = self.planned and (tally.loud or tally.requests > 1)
        level = logging.INFO if loud else logging.DEBUG
        self.logger.log(level, "%s: done, %s", tally.plan.name, self._figures(tally))

    def _figures(self, tally: StreamTally) -> str:
        windows = (
            f", {tally.windows_done:,} of {tally.plan.windows:,} windows"
            if tally.plan.windows is not None
            else ""
        )
        return (
            f"{count(tally.rows, 'row')}, {count(tally.requests, 'request')}{windows},"
            f" {count(tally.retries, 'retry', 'retries')},"
            f" {self._bad_values_of(tally.plan.name)} set to null,"
            f" {duration(tally.seconds)}"
        )

    def _maybe_report(self, tally: StreamTally) -> None:
        if not self.planned or tally.started_at is None:
            return
        now = self.clock()
        if now - tally.started_at < self.interval:
            return
        if self._last_progress_at is not None and now - self._last_progress_at < self.interval:
            return
        self._last_progress_at = now
        self.logger.info("%s", self.progress_text(tally, now))

    def progress_text(self, tally: StreamTally, now: float) -> str:
        """`course_results: 14 of 27 windows, 1,234 rows, 15 requests; run: ...`."""
        plan = tally.plan
        windows = (
            f"{tally.windows_done:,} of {plan.windows:,} windows, "
            if plan.windows is not None
            else ""
        )
        sent = sum(s.requests for s in self.streams.values())
        remaining = self.requests_left()
        left = self._time_left(remaining, now, sent)
        return (
            f"{plan.name}: {windows}{count(tally.rows, 'row')}, {count(tally.requests, 'request')}"
            f" in {duration(now - (tally.started_at or now))}; run: {sent:,} requests sent,"
            f" at least {remaining:,} to go, {left}"
        )

    def requests_left(self) -> int:
        """The least number of requests still to send, at the pace of each stream so far."""
        left = 0
        for tally in self.streams.values():
            plan = tally.plan
            if tally.status in {"done", "failed"} or plan.requests is None:
                continue
            still = max(0, plan.requests - tally.requests)
            if plan.windows is not None and tally.windows_done:
                # Pages per window so far, for the windows still to walk, less the pages
                # already sent for the window in hand.
                per_window = max(1.0, tally.requests_in_windows / tally.windows_done)
                in_hand = tally.requests - tally.requests_in_windows
                walk = (plan.windows - tally.windows_done) * per_window - in_hand
                still = max(still, round(walk))
            left += still
        return left

    def _time_left(self, remaining: int, now: float, sent: int) -> str:
        pace = (now - self._started_at) / sent if sent else 0.0  # seconds per request
        floor = 60 / self.requests_per_minute if self.requests_per_minute > 0 else 0.0
        seconds = remaining * max(pace, floor)
        return f"about {duration(seconds)} left"

    # --- The summary ------------------------------------------------------------------

    def _bad_values_of(self, stream: str) -> int:
        return sum(n for (name, _), n in self.bad_values.items() if name == stream)

    def summary(self, *, waited: float = 0.0) -> dict[str, t.Any]:
        """The run's figures: per stream and in total (what the JSON line carries)."""
        streams = {}
        for name, tally in self.streams.items():
            plan = tally.plan
            streams[name] = {
                "how": plan.how,
                "since": plan.since,
                "selected": plan.selected,
                "status": tally.status,
                "rows": tally.rows,
                "requests": tally.requests,
                "planned_requests": plan.requests,
                "windows": tally.windows_done if plan.windows is not None else None,
                "planned_windows": plan.windows,
                "retries": tally.retries,
                "bad_values": self._bad_values_of(name),
                "seconds": round(tally.seconds, 3),
            }
        return {
            "status": "failed" if self.failed or self.failed_stream else "succeeded",
            "failed_stream": self.failed_stream,
            "seconds": round(self.clock() - self._started_at, 3),
            "rows": sum(s["rows"] for s in streams.values()),
            "requests": sum(s["requests"] for s in streams.values()),
            "planned_requests": self.planned_requests,
            "windows": sum(s["windows"] or 0 for s in streams.values()),
            "planned_windows": sum(s["planned_windows"] or 0 for s in streams.values()),
            "retries": sum(s["retries"] for s in streams.values()),
            "bad_values": sum(s["bad_values"] for s in streams.values()),
            "budget_waited_seconds": round(waited, 3),
            "max_requests_per_minute": self.requests_per_minute,
            "streams": streams,
        }

    def finish(self, *, waited: float = 0.0) -> None:
        """Log the summary table, the time waited for the budget and the JSON line."""
        if not self.planned:
            return
        figures = self.summary(waited=waited)
        outcome = (
            f"failed in {figures['failed_stream']}"
            if figures["failed_stream"]
            else figures["status"]
        )
        self.logger.info(
            "Summary: %s in %s, %s, %s (planned at least %s)",
            outcome,
            duration(figures["seconds"]),
            count(figures["rows"], "row"),
            count(figures["requests"], "request"),
            f"{figures['planned_requests']:,}",
        )
        for line in summary_table(figures):
            self.logger.info("%s", line)
        if waited:
            self.logger.info("Waited %.0f s in all for the request budget", waited)
        self.logger.info("%s%s", SUMMARY_MARKER, json.dumps(figures, separators=(",", ":")))


_COLUMNS = ("rows", "requests", "windows", "retries", "nulls", "seconds")


def summary_table(figures: dict[str, t.Any]) -> list[str]:
    """The summary as aligned text lines: a header, one line per stream, the totals."""
    width = max([len("stream"), *map(len, figures["streams"])]) + 2
    lines = ["  " + "stream".ljust(width) + "".join(f"{c:>10}" for c in _COLUMNS)]

    def row(name: str, data: dict[str, t.Any]) -> str:
        windows = (
            f"{data['windows']}/{data['planned_windows']}"
            if data["planned_windows"] is not None
            else "-"
        )
        cells = (
            f"{data['rows']:,}" if data.get("selected", True) else "-",
            f"{data['requests']:,}",
            windows,
            str(data["retries"]),
            str(data["bad_values"]),
            f"{data['seconds']:.1f}",
        )
        return "  " + name.ljust(width) + "".join(f"{c:>10}" for c in cells)

    lines += [row(name, data) for name, data in figures["streams"].items()]
    totals = {**figures, "planned_windows": figures["planned_windows"] or None}
    lines.append(row("total", totals))
    return lines


def announce_plan(tap: TapLitmos) -> None:
    """Plan the tap's run and log the plan, before its first request.

    A date-window stream's windows (`DateWindowStream.windows`) follow from its starting
    value; working them out reads the stream's state, which the SDK makes writable by
    adding an empty bookmark. Those are removed again (`sdk_seams.plan_without_bookmarks`),
    so the first STATE of the run is what it would have been without a plan.
    """
    plans, deselected = [], []
    with sdk_seams.plan_without_bookmarks(tap):
        for stream in tap.streams.values():
            if stream.selected or stream.has_selected_descendents:
                plans.append(plan_of(t.cast("LitmosStream", stream), selected=stream.selected))
            else:
                deselected.append(stream.name)
    tap.run.progress.plan(plans, deselected)
