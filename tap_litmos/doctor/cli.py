"""`tap-litmos-doctor --config FILE|ENV [--report PATH]`: load the tap, run, write both reports.

The exit code is 0 only when every check passed. Every byte written goes through
`redaction.redact`: the key never reaches the terminal or the JSON report.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import typing as t
from pathlib import Path

from singer_sdk.exceptions import ConfigValidationError

from tap_litmos import redaction, settings
from tap_litmos.doctor.checks import MAX_REQUESTS, Doctor
from tap_litmos.doctor.report import readable
from tap_litmos.ratelimit import RateLimitBackendError
from tap_litmos.tap import TapLitmos

if t.TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

#: The report's name unless `--report` says otherwise.
DEFAULT_REPORT = "litmos-doctor.json"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tap-litmos-doctor",
        description=(
            "Check a Litmos account against what tap-litmos assumes (key, region, clock,"
            f" access, dates, shapes), in at most {MAX_REQUESTS} requests."
        ),
    )
    parser.add_argument(
        "--config",
        required=True,
        help="the tap's config file, or ENV to read TAP_LITMOS_* variables (as Meltano sets)",
    )
    parser.add_argument(
        "--report",
        default=DEFAULT_REPORT,
        help=f"where to write the JSON report (default {DEFAULT_REPORT}); no key, no values",
    )
    return parser


def environment_config(environ: Mapping[str, str] | None = None) -> dict[str, t.Any]:
    """The settings in `TAP_LITMOS_*` variables, typed as the schema says.

    What `--config ENV` reads: Meltano puts every declared setting of the extractor in a
    command's environment, as text. (The SDK's own reader leaves numbers as text.)
    """
    environ = os.environ if environ is None else environ
    config: dict[str, t.Any] = {}
    for name, prop in settings.CONFIG_SCHEMA["properties"].items():
        text = environ.get(f"TAP_LITMOS_{name.upper()}")
        if text is None:
            continue
        types = prop.get("type", [])
        try:
            if "integer" in types:
                config[name] = int(text)
            elif "number" in types:
                config[name] = float(text)
            elif "array" in types:
                config[name] = json.loads(text) if text.startswith("[") else text.split(",")
            else:
                config[name] = text
        except ValueError:
            config[name] = text  # validation names the setting
    return config


def _load_tap(config_arg: str) -> TapLitmos:
    if config_arg == "ENV":
        config = environment_config()
    else:
        config = json.loads(Path(config_arg).read_text())
    redaction.protect(redaction.secret_values(config))
    return TapLitmos(config=config, parse_env_config=False, validate_config=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the doctor; 0 when every check passed, 1 otherwise."""
    args = _parser().parse_args(argv)
    try:
        tap = _load_tap(args.config)
    except ConfigValidationError as exc:
        for problem in exc.errors:
            sys.stderr.write(redaction.redact(f"{problem}\n"))
        sys.stderr.write("Invalid configuration: nothing was requested from Litmos.\n")
        return 1
    except (OSError, ValueError) as exc:
        sys.stderr.write(redaction.redact(f"Cannot read the config {args.config}: {exc}\n"))
        return 1
    doctor = Doctor(tap)
    try:
        report = doctor.run()
    except RateLimitBackendError as exc:
        sys.stderr.write(redaction.redact(f"{exc}\n"))
        return 1
    finally:
        tap.run.request_budget.close()
    path = Path(args.report)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(redaction.redact(json.dumps(report, indent=2)) + "\n")
    text = readable(report, doctor.base_url)
    sys.stdout.write(redaction.redact(f"{text}\nJSON report (no key, no values): {path}\n"))
    return 0 if report["passed"] else 1
