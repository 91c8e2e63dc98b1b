"""What a stream needs from the run it belongs to, declared in one place.

The tap (`TapLitmos.run`) owns one `RunContext` per run; every stream reaches it through
one typed property, `LitmosStream.run`, and through nothing else of the tap. It holds:

- the request budget every request takes a slot of (Litmos counts per key);
- Litmos's clock, learnt from its `Date` headers (where walks over changes end);
- the run's progress (plan, progress lines, summary) and its tally of bad values;
- the account's start, where a first date-window walk without `start_date` begins
  (one request, made only if a stream asks);
- the message writer, as far as the streams use it (`VersionHoldingWriter`);
- the hand-off of ILT session days from `ilt_sessions` to `ilt_session_days`.
"""

from __future__ import annotations

import collections
import dataclasses
import functools
import typing as t

from tap_litmos import settings
from tap_litmos.progress import RunProgress
from tap_litmos.ratelimit import RequestBudget
from tap_litmos.transport import ServerClock

if t.TYPE_CHECKING:
    import datetime as dt
    import logging
    from collections.abc import Callable, Mapping


@t.runtime_checkable
class VersionHoldingWriter(t.Protocol):
    """A message writer that can hold ACTIVATE_VERSION until a stream is read in full.

    Both writers implement it: `writer.BufferedMsgSpecWriter` (Singer) and
    `airbyte.messages.AirbyteWriter` (which never holds: Airbyte has no such message).
    """

    #: Hold ACTIVATE_VERSION messages (True) or send them where the SDK does (False).
    hold_versions: bool

    def activate_held_versions(self) -> None:
        """Send the held ACTIVATE_VERSION messages, after every record they cover."""


class SessionDays:
    """ILT session days, handed from `ilt_sessions` (which reads them) to `ilt_session_days`.

    Litmos sends a session's days inside the session row; the sessions stream puts them
    here as it reads each session, and the days stream takes them when the SDK syncs it
    for that session, right after. Each session's days are handed out once.
    """

    def __init__(self) -> None:
        """Nothing handed over yet."""
        self._days: dict[str, list[dict[str, t.Any]]] = {}

    def put(self, session_id: str, days: list[dict[str, t.Any]]) -> None:
        """The raw day rows of session `session_id`, as its session row carried them."""
        self._days[session_id] = days

    def take(self, session_id: str) -> list[dict[str, t.Any]]:
        """The raw day rows of a session this run has read (empty after the first take)."""
        return self._days.pop(session_id, [])


@dataclasses.dataclass(eq=False)
class RunContext:
    """Everything of the run that a stream uses: one per tap, built when first asked for."""

    config: Mapping[str, t.Any]
    logger: logging.Logger
    #: The message writer, as far as the streams use it.
    writer: VersionHoldingWriter
    #: Reads the account's start (one request), for `account_start`.
    probe_account_start: Callable[[], dt.datetime]
    #: The tap's version, for the User-Agent.
    plugin_version: str
    #: Litmos's clock, as its responses tell it.
    clock: ServerClock = dataclasses.field(default_factory=ServerClock)
    #: Values set to null because they did not convert, by (stream, field).
    bad_values: collections.Counter[tuple[str, str]] = dataclasses.field(
        default_factory=collections.Counter
    )
    #: ILT session days on their way from `ilt_sessions` to `ilt_session_days`.
    session_days: SessionDays = dataclasses.field(default_factory=SessionDays)
    #: The plan, progress lines and summary (replaceable before the run starts).
    progress: RunProgress = dataclasses.field(init=False)

    def __post_init__(self) -> None:
        """The run's progress reports to the tap's logger, at the request budget."""
        self.progress = RunProgress(
            self.logger,
            requests_per_minute=self.requests_per_minute,
            bad_values=self.bad_values,
        )

    @property
    def requests_per_minute(self) -> int:
        """The request budget's rate (`max_requests_per_minute`; 0: none)."""
        return int(settings.value(self.config, "max_requests_per_minute"))

    @functools.cached_property
    def request_budget(self) -> RequestBudget:
        """One request budget for all streams of this run (Litmos counts per API key).

        With `rate_limit_backend` it is shared with every other tap process that names
        the same file or Redis server and uses the same key. Built at the first request.
        """
        return RequestBudget(
            self.requests_per_minute,
            self.config["api_key"],
            self.config.get("rate_limit_backend") or None,
        )

    @property
    def budget_waited(self) -> float:
        """Seconds waited for the budget so far (0 if no request was ever made)."""
        return self.request_budget.waited if "request_budget" in self.__dict__ else 0.0

    def close(self) -> None:
        """Release the request budget (its file or Redis connection), if it was opened."""
        if "request_budget" in self.__dict__:
            self.request_budget.close()

    @functools.cached_property
    def account_start(self) -> dt.datetime:
        """The earliest instant the account can hold data (read once per run)."""
        return self.probe_account_start()
