"""Command line: ``litmos-sandbox --port 8765 --seed 42 ...`` (or ``python -m litmos_sandbox``).

One flag per option of :class:`~litmos_sandbox.options.Options`, generated from it
(``--help`` lists them with their defaults). Prints one line, ``Litmos sandbox listening
on <base_url> (api key: <key>)``, once the socket is bound (``spawn()`` waits for it),
then serves until SIGINT or SIGTERM and exits 0.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from litmos_sandbox.options import Options, add_arguments, from_arguments
from litmos_sandbox.process import LISTENING
from litmos_sandbox.sandbox import LitmosSandbox


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="litmos-sandbox",
        description="Serve a local emulator of the SAP Litmos /v1.svc API.",
    )
    add_arguments(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the sandbox until SIGINT/SIGTERM; return the exit status."""
    args = _parser().parse_args(argv)
    try:
        sandbox = LitmosSandbox(Options.of(**from_arguments(args)))
    except ValueError as exc:
        print(f"litmos_sandbox: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()

    def _on_signal(_signum: int, _frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    sandbox.start()
    print(f"{LISTENING}{sandbox.base_url} (api key: {sandbox.api_key})", flush=True)
    try:
        while not stop.wait(0.2):
            pass
    finally:
        sandbox.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
