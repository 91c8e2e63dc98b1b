"""The tap: its settings, its streams and its command line."""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import functools
import sys
import typing as t

import requests
from singer_sdk.exceptions import ConfigValidationError, FatalAPIError, RetriableAPIError

from tap_litmos import quiet, redaction, sdk_seams, settings
from tap_litmos.parsing import LitmosValueError, format_datetime, parse_datetime
from tap_litmos.progress import announce_plan
from tap_litmos.ratelimit import RateLimitBackendError
from tap_litmos.run_context import RunContext, VersionHoldingWriter
from tap_litmos.streams import STREAM_TYPES
from tap_litmos.streams.users import EarliestUsersProbe
from tap_litmos.writer import BufferedMsgSpecWriter, ShortWriteError

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping

    import click

    from tap_litmos.airbyte.messages import AirbyteWriter
    from tap_litmos.client import LitmosStream

if sys.version_info >= (3, 12):
    from typing import override
else:  # Python < 3.12
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


class TapLitmos(sdk_seams.ConfigValidationHook, sdk_seams.TerminationExitHook):
    """Singer tap for SAP Litmos LMS: learners, teams, courses, results and ILT, in few requests."""

    name = "tap-litmos"
    # A copy: the SDK adds its built-in settings (stream_maps, ...) to this dict in place.
    config_jsonschema = copy.deepcopy(settings.CONFIG_SCHEMA)
    # msgspec, flushed per STATE rather than per record: the fastest Singer writer here.
    message_writer_class = BufferedMsgSpecWriter
    #: The writer it runs with: this one, or the Airbyte writer (airbyte/cli.py).
    message_writer: BufferedMsgSpecWriter | AirbyteWriter

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        """Build the tap; from here on no byte of output can carry the key or a password."""
        quiet.install(self.name, [s.name for s in (*STREAM_TYPES, EarliestUsersProbe)])
        super().__init__(*args, **kwargs)
        redaction.protect(redaction.secret_values(self.config))
        quiet.set_metrics_level(
            self.metrics_logger, settings.value(self.config, "metrics_log_level")
        )

    @override
    def discover_streams(self) -> list[LitmosStream]:
        return [stream_class(tap=self) for stream_class in STREAM_TYPES]

    @override  # type: ignore[misc]  # final in the SDK: wrapped on purpose
    def sync_all(self) -> None:
        # ACTIVATE_VERSION after each snapshot's records, but where the SDK sends it (first)
        # when records travel in BATCH files, whose rows carry no version (writer.py).
        self.run.writer.hold_versions = not self.config.get("batch_config")
        try:
            announce_plan(self)
            super().sync_all()
        except BaseException:
            self.run.progress.failed = True  # a stop between two streams fails the run too
            raise
        finally:
            self.message_writer.flush()  # RECORD lines not yet followed by a STATE
            self._log_run_summary()
            self.run.close()

    @override  # type: ignore[misc]  # final in the SDK: wrapped on purpose
    def run_sync_dry_run(self, *args: t.Any, **kwargs: t.Any) -> bool:
        try:
            return super().run_sync_dry_run(*args, **kwargs)
        finally:
            self.message_writer.flush()
            self.run.close()

    @override  # type: ignore[misc]  # final in the SDK: replaced on purpose
    def run_connection_test(self) -> bool:
        # One request proves the host, the key and the account's API access; the SDK's
        # default reads a record of every stream, dozens of requests.
        return self.run_sync_dry_run(dry_run_record_limit=1, streams=[self.streams["users"]])

    @override
    def defer_termination(self, stop: Callable[[], None]) -> bool:
        # A signal that lands while a block of records goes out to a slow target stops the
        # run once the block is out: the SDK's last STATE must not cut a line in two.
        writer = self.message_writer
        return isinstance(writer, BufferedMsgSpecWriter) and writer.defer_while_writing(stop)

    @functools.cached_property
    def run(self) -> RunContext:
        """What the streams use of this run (run_context.py), built when first asked for."""
        writer = self.message_writer
        if not isinstance(writer, VersionHoldingWriter):
            msg = f"{type(writer).__name__} cannot hold ACTIVATE_VERSION (VersionHoldingWriter)"
            raise TypeError(msg)
        return RunContext(
            config=self.config,
            logger=self.logger,
            writer=writer,
            probe_account_start=self._probe_account_start,
            plugin_version=self.plugin_version,
        )

    def _probe_account_start(self) -> dt.datetime:
        """The earliest instant the account can hold data: its first user's CreatedDate.

        Where date-window streams begin a first run without `start_date`; read once
        per run, with one request.
        """
        probe = EarliestUsersProbe(tap=self)
        created = [r["CreatedDate"] for r in probe.get_records(None) if r["CreatedDate"]]
        earliest = parse_datetime(min(created)) if created else None
        if earliest is not None:
            start = earliest - dt.timedelta(days=1)
            why = "the earliest user CreatedDate, less a day"
        else:
            start = self.run.clock.now() - dt.timedelta(days=1)
            why = "the account has no users"
        self.logger.info(
            "No start_date and no bookmark: date-window streams start at %s (%s)",
            format_datetime(start),
            why,
        )
        return start

    def _log_run_summary(self) -> None:
        self.run.progress.finish(waited=self.run.budget_waited)
        for (stream, field), count in sorted(self.run.bad_values.items()):
            self.logger.warning(
                "%d %s value(s) of %s did not convert and were set to null", count, field, stream
            )

    @override
    def config_problems(self, config: Mapping[str, t.Any]) -> list[str]:
        # Our own checks, before the SDK's: they name the setting, check formats the SDK's
        # schema validation does not (start_date, api_url) and never echo the api_key.
        return settings.find_problems(config)

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
    def invoke(cls, **kwargs: t.Any) -> None:
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
