"""The `source-litmos` command line: Airbyte's `spec`, `check`, `discover` and `read`.

    source-litmos spec
    source-litmos check --config config.json
    source-litmos discover --config config.json
    source-litmos read --config config.json --catalog configured_catalog.json [--state state.json]

Everything goes to stdout as Airbyte messages, logs included (a logging handler is in
place before the tap is built); stderr stays quiet. A failed `check` is a FAILED
connection status (exit 0, as Airbyte expects); any other failure is a TRACE ERROR
with a `failure_type` and then exit code 1: a TRACE followed by exit 0 would count as
a success with partial rows.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import traceback
import typing as t

import requests
from singer_sdk.exceptions import ConfigValidationError, RetriableAPIError

from tap_litmos import redaction
from tap_litmos.airbyte import catalog, spec
from tap_litmos.airbyte.messages import AirbyteLogHandler, AirbyteWriter, Stopped
from tap_litmos.api import LitmosError
from tap_litmos.ratelimit import RateLimitBackendError
from tap_litmos.tap import TapLitmos, failure_lines

if t.TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from types import FrameType

_TRANSIENT = (RetriableAPIError, requests.exceptions.RequestException, RateLimitBackendError)

logger = logging.getLogger("source-litmos")


def failure_type(exc: BaseException) -> str:
    """Airbyte's `failure_type` for a failure: config, transient or system error.

    Read from the failure's type, never its text: Litmos refusing the key (401) or the
    call (403) is the user's configuration at fault (`LitmosError.user_config`).
    """
    if isinstance(exc, ConfigValidationError) or (isinstance(exc, LitmosError) and exc.user_config):
        return "config_error"
    if isinstance(exc, (*_TRANSIENT, Stopped)):
        return "transient_error"
    return "system_error"


def failure_message(exc: BaseException) -> str:
    """The failure in one line: the lines `tap-litmos` logs for it, joined."""
    lines = failure_lines(exc)
    if lines is None:
        lines = [str(exc) if isinstance(exc, Stopped) else f"{type(exc).__name__}: {exc}"]
    return "; ".join(lines)


def _is_expected(exc: BaseException) -> bool:
    return isinstance(exc, Stopped) or failure_lines(exc) is not None


# --- Reading the files Airbyte passes ---------------------------------------------------


def _read_json(path: str, what: str) -> object:
    try:
        with open(path, encoding="utf-8") as fh:  # noqa: PTH123
            return json.load(fh)
    except (OSError, ValueError) as exc:
        msg = f"Cannot read the {what} file {path}: {exc}"
        raise ConfigValidationError(msg, errors=[msg]) from None


def _read_config(path: str) -> dict[str, t.Any]:
    config = _read_json(path, "config")
    if not isinstance(config, dict):
        msg = f"The config file {path} must hold a JSON object"
        raise ConfigValidationError(msg, errors=[msg])
    # Before anything can log or print: no byte of output may carry the key.
    redaction.protect(redaction.secret_values(config))
    return config


def _build_tap(
    config: dict[str, t.Any],
    writer: AirbyteWriter,
    *,
    catalog_dict: dict[str, t.Any] | None = None,
    state: dict[str, t.Any] | None = None,
) -> TapLitmos:
    """The one tap, with the Airbyte writer; validates the config as `tap-litmos` does."""
    tap = TapLitmos(
        config=spec.tap_config(config),
        catalog=catalog_dict,
        state=state,
        parse_env_config=False,
        validate_config=True,
        message_writer=writer,
    )
    # The SDK's own handlers write a state and exit 0 on SIGTERM: Airbyte would take
    # the partial read for a finished one.
    _stop_on_signals(writer)
    return tap


def _stop_on_signals(writer: AirbyteWriter) -> None:
    def stop(signum: int, _frame: FrameType | None) -> None:
        writer.stop(signum)

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, stop)


# --- Commands ------------------------------------------------------------------------------


def run_spec(_args: argparse.Namespace, writer: AirbyteWriter) -> int:
    """SPEC: what the config may hold."""
    writer.answer({"type": "SPEC", "spec": spec.specification()})
    return 0


def run_check(args: argparse.Namespace, writer: AirbyteWriter) -> int:
    """CONNECTION_STATUS: the `tap-litmos --test` check (one request) and its verdict."""
    try:
        tap = _build_tap(_read_config(args.config), writer)
        writer.discard_data = True  # the test record is not Airbyte's business
        tap.run_connection_test()
    except Exception as exc:  # noqa: BLE001 (whatever went wrong, the check failed)
        _log_failure(exc)
        status = {"status": "FAILED", "message": redaction.redact(failure_message(exc))}
        writer.answer({"type": "CONNECTION_STATUS", "connectionStatus": status})
        return 0
    finally:
        writer.discard_data = False
    writer.answer({"type": "CONNECTION_STATUS", "connectionStatus": {"status": "SUCCEEDED"}})
    return 0


def run_discover(args: argparse.Namespace, writer: AirbyteWriter) -> int:
    """CATALOG: the default streams, and the fan-outs the config names. No request."""
    config = _read_config(args.config)
    tap = _build_tap(config, writer)
    body = catalog.airbyte_catalog(tap, spec.offered_fan_outs(config))
    writer.answer({"type": "CATALOG", "catalog": body})
    return 0


def run_read(args: argparse.Namespace, writer: AirbyteWriter) -> int:
    """RECORDs and STREAM states of the configured streams."""
    config = _read_config(args.config)
    discovering = _build_tap(config, writer)
    offered = catalog.airbyte_catalog(discovering, spec.offered_fan_outs(config))
    configured = catalog.configured_streams(_read_json(args.catalog, "catalog"), offered)
    airbyte_state = _read_json(args.state, "state") if args.state else None
    state, notes = catalog.singer_state(airbyte_state, configured)
    for note in notes:
        logger.info("%s", note)
    tap = _build_tap(
        config, writer, catalog_dict=catalog.singer_catalog(discovering, configured), state=state
    )
    writer.start_from(tap.state)
    tap.sync_all()
    return 0


COMMANDS: dict[str, Callable[[argparse.Namespace, AirbyteWriter], int]] = {
    "spec": run_spec,
    "check": run_check,
    "discover": run_discover,
    "read": run_read,
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="source-litmos", description="tap-litmos as an Airbyte source."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("spec", help="the connection specification")
    for name, text in (("check", "test the config"), ("discover", "the catalog")):
        command = commands.add_parser(name, help=text)
        command.add_argument("--config", required=True)
    read = commands.add_parser("read", help="read the configured streams")
    read.add_argument("--config", required=True)
    read.add_argument("--catalog", required=True)
    read.add_argument("--state")
    return parser


def _route_logs_to(writer: AirbyteWriter) -> None:
    """Every log record of this process becomes a LOG message on stdout."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    root.addHandler(AirbyteLogHandler(writer))
    # The level names of `tap-litmos` (TAP_LITMOS_LOGLEVEL, LOGLEVEL), INFO by default.
    level = os.environ.get("TAP_LITMOS_LOGLEVEL") or os.environ.get("LOGLEVEL") or "INFO"
    root.setLevel(level.upper())
    logging.captureWarnings(capture=True)


def _log_failure(exc: BaseException) -> None:
    if _is_expected(exc):
        # Bad input or a refusing server: the lines say it all; a traceback only at DEBUG.
        logger.debug("Details of the failure:", exc_info=exc)
        for line in failure_lines(exc) or [str(exc)]:
            logger.error("%s", line)
    else:
        logger.error("%s", failure_message(exc), exc_info=exc)


def main(argv: Sequence[str] | None = None) -> None:
    """Run one Airbyte command; exit 1 after a TRACE ERROR if it fails."""
    args = _parser().parse_args(argv)
    writer = AirbyteWriter()
    _route_logs_to(writer)
    _stop_on_signals(writer)
    try:
        code = COMMANDS[args.command](args, writer)
    except Exception as exc:  # noqa: BLE001 (every failure becomes a TRACE ERROR)
        _log_failure(exc)
        stack = None if _is_expected(exc) else "".join(traceback.format_exception(exc))
        writer.trace_error(failure_message(exc), failure_type(exc), stack_trace=stack)
        code = 1
    writer.flush()
    sys.exit(code)


if __name__ == "__main__":
    main()
