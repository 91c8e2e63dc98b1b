"""Allow `python -m tap_litmos.airbyte` (the `source-litmos` command)."""

from tap_litmos.airbyte.cli import main

main()
