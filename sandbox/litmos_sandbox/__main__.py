"""Command line: ``python -m litmos_sandbox --port 8765 --seed 42 ...``.

Prints one line, ``Litmos sandbox listening on <base_url> (api key: <key>)``, once the
socket is bound, then serves until SIGINT or SIGTERM and exits 0.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from litmos_sandbox.faults import DEFAULT_RANDOM_KINDS, FAULT_KINDS
from litmos_sandbox.server import LitmosSandbox


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m litmos_sandbox",
        description="Serve a local emulator of the SAP Litmos /v1.svc API.",
    )
    p.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=0, help="port; 0 picks a free one (default)")
    p.add_argument("--seed", type=int, default=42, help="dataset seed (default 42)")
    p.add_argument("--users", type=int, default=20, help="number of users (default 20)")
    p.add_argument(
        "--achievements", type=int, default=500, help="number of achievements (default 500)"
    )
    for name, default, what in (
        ("teams", 6, "teams (a hierarchy)"),
        ("courses", 16, "courses (at least the 16 of the achievements catalog)"),
        ("learning-paths", 4, "learning paths (at least 4)"),
        ("course-results", None, "course results (default 4 per user)"),
        ("module-results", None, "module results (default half the course results)"),
        ("logins", None, "login activity rows (default 5 per user)"),
    ):
        p.add_argument(f"--{name}", type=int, default=default, help=f"number of {what}")
    p.add_argument(
        "--now",
        default=None,
        help="freeze the sandbox clock at this ISO date-time (default: real time; the "
        "world is anchored at today's UTC midnight)",
    )
    p.add_argument("--api-key", default="sandbox-key", help="accepted apikey header value")
    p.add_argument(
        "--extra-rows",
        type=int,
        default=0,
        help="return limit+K rows per page (Litmos's 'more than limit' quirk)",
    )
    p.add_argument(
        "--throttle-per-minute",
        type=int,
        default=None,
        help="answer 503 beyond N requests per sliding window (Litmos: 100)",
    )
    p.add_argument(
        "--throttle-window-seconds",
        type=float,
        default=60.0,
        help="length of the throttle window (default 60)",
    )
    p.add_argument(
        "--fault-rate", type=float, default=0.0, help="probability of a random fault (0..1)"
    )
    p.add_argument(
        "--fault-kinds",
        default=",".join(DEFAULT_RANDOM_KINDS),
        help=f"comma-separated random fault kinds, from: {', '.join(sorted(FAULT_KINDS))}",
    )
    p.add_argument("--fault-seed", type=int, default=0, help="seed of the random faults")
    p.add_argument("--slow-seconds", type=float, default=0.0, help="delay used by the 'slow' fault")
    p.add_argument(
        "--stall-seconds",
        type=float,
        default=5.0,
        help="delay before any byte, used by the 'stall' fault (default 5)",
    )
    p.add_argument(
        "--retry-after",
        default=None,
        help="send Retry-After on throttle replies: N seconds, or 'http-date' "
        "(--retry-after-seconds ahead); default none, like Litmos",
    )
    p.add_argument(
        "--retry-after-seconds",
        type=int,
        default=30,
        help="how far ahead an http-date Retry-After points (default 30)",
    )
    p.add_argument(
        "--throttle-status",
        type=int,
        choices=(503, 429),
        default=503,
        help="status of the sliding-window throttle (default 503, like Litmos)",
    )
    p.add_argument(
        "--redirect-base",
        default=None,
        help="target of the 'redirect' faults (default: this sandbox)",
    )
    p.add_argument(
        "--json-utc-dates",
        action="store_true",
        help="JSON dates as /Date(utc-ms)/ without an offset (DateTimeKind.Utc form)",
    )
    p.add_argument(
        "--xml-nil-style",
        choices=("i", "bare"),
        default="i",
        help='XML nulls as i:nil="true" (default) or nil="true"',
    )
    # The other ways Litmos may behave that tap-litmos-doctor checks for (docs/doctor.md).
    p.add_argument(
        "--json-true-utc-dates",
        action="store_true",
        help="JSON dates (and /org/* dates) as /Date(<true UTC ms>-0700)/: the offset only "
        "informational, so the tap's reading is off by it",
    )
    p.add_argument(
        "--json-wrapped",
        action="store_true",
        help='JSON lists wrapped in their XML root name: {"Users": [...]}',
    )
    p.add_argument(
        "--forbid",
        action="append",
        default=[],
        metavar="STREAM",
        help="answer 403 'You do not have the proper permissions for this call.' for this "
        "stream's endpoint (a stream name or API path; repeatable)",
    )
    p.add_argument(
        "--extra-field",
        action="append",
        default=[],
        metavar="NAME=TEXT",
        help="add a field the tap's schema lacks to every row (repeatable)",
    )
    p.add_argument(
        "--clock-offset-seconds",
        type=float,
        default=0.0,
        help="run the sandbox's clock (its Date header and its now) this far ahead; "
        "negative: behind",
    )
    return p


def main(argv: list[str] | None = None) -> int:
    """Run the sandbox until SIGINT/SIGTERM; return the exit status."""
    args = _parser().parse_args(argv)
    kinds = tuple(k.strip() for k in args.fault_kinds.split(",") if k.strip())
    retry_after: int | str | None = args.retry_after
    if retry_after is not None and retry_after != "http-date":
        try:
            retry_after = int(retry_after)
        except ValueError:
            print("litmos_sandbox: --retry-after must be an int or 'http-date'", file=sys.stderr)
            return 2
    extra_fields = dict(item.partition("=")[::2] for item in args.extra_field)
    try:
        sandbox = LitmosSandbox(
            seed=args.seed,
            users=args.users,
            achievements=args.achievements,
            api_key=args.api_key,
            host=args.host,
            port=args.port,
            extra_rows=args.extra_rows,
            json_utc_dates=args.json_utc_dates,
            xml_nil_style=args.xml_nil_style,
            throttle_per_minute=args.throttle_per_minute,
            throttle_window_seconds=args.throttle_window_seconds,
            slow_seconds=args.slow_seconds,
            fault_rate=args.fault_rate,
            fault_kinds=kinds,
            fault_seed=args.fault_seed,
            stall_seconds=args.stall_seconds,
            retry_after=retry_after,
            retry_after_seconds=args.retry_after_seconds,
            throttle_status=args.throttle_status,
            redirect_base=args.redirect_base,
            teams=args.teams,
            courses=args.courses,
            learning_paths=args.learning_paths,
            course_results=args.course_results,
            module_results=args.module_results,
            logins=args.logins,
            now=args.now,
            json_true_utc_dates=args.json_true_utc_dates,
            json_wrapped=args.json_wrapped,
            forbidden=args.forbid,
            extra_fields=extra_fields,
            clock_offset_seconds=args.clock_offset_seconds,
        )
    except ValueError as exc:
        print(f"litmos_sandbox: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()

    def _on_signal(_signum: int, _frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    sandbox.start()
    print(
        f"Litmos sandbox listening on {sandbox.base_url} (api key: {sandbox.api_key})",
        flush=True,
    )
    try:
        while not stop.wait(0.2):
            pass
    finally:
        sandbox.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
