"""The tap: its settings, its streams and its command line."""

from __future__ import annotations

import collections
import contextlib
import copy
import datetime as dt
import functools
import sys
import typing as t

import requests
from singer_sdk import Tap
from singer_sdk.exceptions import ConfigValidationError, FatalAPIError, RetriableAPIError

from tap_litmos import quiet, redaction, settings
from tap_litmos.parsing import LitmosValueError, format_datetime, parse_datetime
from tap_litmos.progress import RunProgress, announce_plan
from tap_litmos.ratelimit import RateLimitBackendError, RequestBudget
from tap_litmos.streams import STREAM_TYPES
from tap_litmos.streams.users import EarliestUsersProbe
from tap_litmos.transport import ServerClock
from tap_litmos.writer import BufferedMsgSpecWriter, ShortWriteError

if t.TYPE_CHECKING:
    from collections.abc import Iterator
    from types import FrameType

    import click

    from tap_litmos.client import LitmosStream

try:
    from typing import override  # type: ignore[attr-defined]
except ImportError:  # Python < 3.12
    from typing_extensions import override

# Failures a user can act on: reported in one line, exit code 1, traceback only at DEBUG.
_EXPECTED_FAILURES = (
    FatalAPIError,
    RetriableAPIError,
    LitmosValueError,
    RateLimitBackendError,
    ShortWriteError,
    requests.exceptions.RequestException,
)


def failure_lines(exc: BaseException) -> list[str] | None:
    """What the tap reports for an expected failure, one line each (None: not one).

    A bad config names each bad setting; anything else is the failure's own one line.
    The Airbyte source (`source-litmos`) reports the same lines.
    """
    if isinstance(exc, ConfigValidationError):
        return [*exc.errors, "Invalid configuration: nothing was requested from Litmos."]
    if isinstance(exc, _EXPECTED_FAILURES):
        return [str(exc)]
    return None


class TapLitmos(Tap):
    """Singer tap for SAP Litmos LMS: learners, teams, courses, results and ILT, in few requests."""

    name = "tap-litmos"
    # A copy: the SDK adds its built-in settings (stream_maps, ...) to this dict in place.
    config_jsonschema = copy.deepcopy(settings.CONFIG_SCHEMA)
    # msgspec, flushed per STATE rather than per record: the fastest Singer writer here.
    message_writer_class = BufferedMsgSpecWriter

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        """Build the tap; from here on no byte of output can carry the key or a password."""
        quiet.install(self.name, [s.name for s in (*STREAM_TYPES, EarliestUsersProbe)])
        super().__init__(*args, **kwargs)
        redaction.protect(redaction.secret_values(self.config))
        quiet.set_metrics_level(self.metrics_logger, self.config.get("metrics_log_level"))

    @override
    def discover_streams(self) -> list[LitmosStream]:
        return [stream_class(tap=self) for stream_class in STREAM_TYPES]

    @override
    def sync_all(self) -> None:
        # ACTIVATE_VERSION after each snapshot's records, but where the SDK sends it (first)
        # when records travel in BATCH files, whose rows carry no version (writer.py).
        self.message_writer.hold_versions = not self.config.get("batch_config")  # type: ignore[attr-defined]
        try:
            announce_plan(self)
            super().sync_all()
        except BaseException:
            self.progress.failed = True  # a stop between two streams fails the run too
            raise
        finally:
            self.message_writer.flush()  # RECORD lines not yet followed by a STATE
            self._log_run_summary()
            self.request_budget.close()

    @override
    def _handle_termination(self, signum: int, frame: FrameType | None) -> None:
        # The SDK writes the state, then exits 0: a run stopped by SIGINT or SIGTERM would
        # pass for a finished one. Its exit code is 128 + the signal, as a shell's.
        try:
            super()._handle_termination(signum, frame)
        except SystemExit:
            raise SystemExit(128 + signum) from None

    @override
    def run_sync_dry_run(self, *args: t.Any, **kwargs: t.Any) -> bool:
        try:
            return super().run_sync_dry_run(*args, **kwargs)
        finally:
            self.message_writer.flush()
            self.request_budget.close()

    @override
    def run_connection_test(self) -> bool:
        # One request proves the host, the key and the account's API access; the SDK's
        # default reads a record of every stream, dozens of requests for 23 streams.
        return self.run_sync_dry_run(dry_run_record_limit=1, streams=[self.streams["users"]])

    @functools.cached_property
    def request_budget(self) -> RequestBudget:
        """One request budget for all streams of this run (Litmos counts per API key).

        With `rate_limit_backend` it is shared with every other tap process that names
        the same file or Redis server and uses the same key.
        """
        return RequestBudget(
            int(self.config.get("max_requests_per_minute", 90)),
            self.config["api_key"],
            self.config.get("rate_limit_backend") or None,
        )

    @functools.cached_property
    def litmos_clock(self) -> ServerClock:
        """Litmos's clock, learnt from its responses: where walks over changes end."""
        return ServerClock()

    @functools.cached_property
    def progress(self) -> RunProgress:
        """What the run says while it goes: the plan, progress lines and the summary."""
        return RunProgress(
            self.logger,
            requests_per_minute=int(self.config.get("max_requests_per_minute", 90)),
            bad_values=self.bad_values,
        )

    @functools.cached_property
    def bad_values(self) -> collections.Counter[tuple[str, str]]:
        """Values set to null because they did not convert, by (stream, field)."""
        return collections.Counter()

    @functools.cached_property
    def account_start(self) -> dt.datetime:
        """The earliest instant the account can hold data: its first user's CreatedDate.

        Where date-window streams begin a first run without `start_date`; read once
        per run, with one request.
        """
        probe = EarliestUsersProbe(tap=self)
        created = [r["CreatedDate"] for r in probe.get_records(None) if r["CreatedDate"]]
        if created:
            start = parse_datetime(min(created)) - dt.timedelta(days=1)
            why = "the earliest user CreatedDate, less a day"
        else:
            start = self.litmos_clock.now() - dt.timedelta(days=1)
            why = "the account has no users"
        self.logger.info(
            "No start_date and no bookmark: date-window streams start at %s (%s)",
            format_datetime(start),  # type: ignore[arg-type]
            why,
        )
        return start  # type: ignore[return-value]

    def _log_run_summary(self) -> None:
        waited = self.request_budget.waited if "request_budget" in self.__dict__ else 0.0
        self.progress.finish(waited=waited)
        for (stream, field), count in sorted(self.bad_values.items()):
            self.logger.warning(
                "%d %s value(s) of %s did not convert and were set to null", count, field, stream
            )

    @override
    def _validate_config(self, *, raise_errors: bool = True) -> list[str]:
        # Our own checks first: they name the setting, check formats the SDK's schema
        # validation does not (start_date, api_url) and never echo the api_key.
        problems = settings.find_problems(self._config)
        if problems and raise_errors:
            summary = "Config validation failed"
            raise ConfigValidationError(summary, errors=problems, schema=self.config_jsonschema)
        # The SDK's validation still covers its built-in settings (stream_maps, ...).
        return problems or super()._validate_config(raise_errors=raise_errors)

    # --- Command line: every mode refuses bad input in a few clear lines ---------------

    @classmethod
    @contextlib.contextmanager
    def _clean_failure(cls) -> Iterator[None]:
        try:
            yield
        except (ConfigValidationError, *_EXPECTED_FAILURES) as exc:
            if not isinstance(exc, ConfigValidationError):
                cls.logger.debug("Details of the failure:", exc_info=True)
            for line in failure_lines(exc) or ():
                cls.logger.error("%s", line)  # noqa: TRY400
            sys.exit(1)

    @classmethod
    @override
    def invoke(cls, **kwargs: t.Any) -> None:  # type: ignore[override]
        with cls._clean_failure():
            super().invoke(**kwargs)

    @classmethod
    @override
    def cb_discover(cls, ctx: click.Context, param: click.Option, value: bool) -> None:
        if value:
            # The SDK skips validation for --discover; we refuse a bad config everywhere.
            config = ctx.params.get("config")
            with cls._clean_failure():
                cls(
                    config=config.config if config else {},
                    parse_env_config=bool(config and config.parse_env),
                    validate_config=True,
                    setup_mapper=False,
                )
        super().cb_discover(ctx, param, value)

    @classmethod
    @override
    def cb_test(cls, ctx: click.Context, param: click.Option, value: str) -> None:
        with cls._clean_failure():
            super().cb_test(ctx, param, value)


if __name__ == "__main__":
    TapLitmos.cli()
