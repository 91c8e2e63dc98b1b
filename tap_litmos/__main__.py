"""Allow `python -m tap_litmos`."""

from tap_litmos.tap import TapLitmos

TapLitmos.cli()
