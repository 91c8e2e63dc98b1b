"""The tap: its settings, its streams and its command line."""

from __future__ import annotations

import contextlib
import copy
import functools
import sys
import typing as t

import requests
from singer_sdk import Tap
from singer_sdk.exceptions import ConfigValidationError, FatalAPIError, RetriableAPIError

from tap_litmos import settings
from tap_litmos.parsing import LitmosValueError
from tap_litmos.ratelimit import SlidingWindowLimiter
from tap_litmos.streams import STREAM_TYPES
from tap_litmos.writer import BufferedMsgSpecWriter

if t.TYPE_CHECKING:
    from collections.abc import Iterator

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
    requests.exceptions.RequestException,
)


class TapLitmos(Tap):
    """Singer tap for SAP Litmos LMS: course completions (achievements), incrementally."""

    name = "tap-litmos"
    # A copy: the SDK adds its built-in settings (stream_maps, ...) to this dict in place.
    config_jsonschema = copy.deepcopy(settings.CONFIG_SCHEMA)
    # msgspec, flushed per STATE rather than per record: the fastest Singer writer here.
    message_writer_class = BufferedMsgSpecWriter

    @override
    def discover_streams(self) -> list[LitmosStream]:
        return [stream_class(tap=self) for stream_class in STREAM_TYPES]

    @override
    def sync_all(self) -> None:
        try:
            super().sync_all()
        finally:
            self.message_writer.flush()  # RECORD lines not yet followed by a STATE
            if waited := self.rate_limiter.waited:
                self.logger.info("Waited %.0f s in all for the request budget", waited)

    @override
    def run_sync_dry_run(self, *args: t.Any, **kwargs: t.Any) -> bool:
        try:
            return super().run_sync_dry_run(*args, **kwargs)
        finally:
            self.message_writer.flush()

    @functools.cached_property
    def rate_limiter(self) -> SlidingWindowLimiter:
        """One request budget for all streams of this run (Litmos counts per API key)."""
        return SlidingWindowLimiter(int(self.config.get("max_requests_per_minute", 90)))

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
        except ConfigValidationError as exc:
            for problem in exc.errors:
                cls.logger.error("%s", problem)  # noqa: TRY400
            cls.logger.error("Invalid configuration: nothing was requested from Litmos.")  # noqa: TRY400
            sys.exit(1)
        except _EXPECTED_FAILURES as exc:
            cls.logger.debug("Details of the failure:", exc_info=True)
            cls.logger.error("%s", exc)  # noqa: TRY400
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
