"""Run the lint pass and the tests: `python3 run_tests.py [--fast | --tier NAME] [pytest args]`.

Works on a fresh machine with only python3 and pip: the first run builds .venv.

    python3 run_tests.py                  # ruff and mypy, then every test (README, CI)
    python3 run_tests.py --fast           # ruff and mypy, then the unit tier on every core
    python3 run_tests.py --tier e2e       # one tier (unit, e2e or platform), no lint
    python3 run_tests.py --lint           # the lint pass alone
    python3 run_tests.py tests/tap_litmos -k paging   # pytest arguments: those tests, no lint

Pytest arguments may follow `--fast` and `--tier NAME` (`--fast -x -q`). The tiers are
pytest markers (pyproject.toml); docs/development.md, "Tests and tiers", says what each holds.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from scripts import devenv

devenv.ensure("run_tests.py")

import pytest  # noqa: E402  (only importable inside .venv)

ROOT = Path(__file__).resolve().parent


def lint() -> int:
    """Ruff over the whole tree (the sandbox, tests and scripts included), then mypy.

    mypy runs with no arguments: pyproject.toml's [tool.mypy] names its files and rules.
    """
    for command in (
        ["ruff", "check", "."],
        ["ruff", "format", "--check", "."],
        ["mypy"],
    ):
        print(" ".join(command), flush=True)
        if subprocess.run([sys.executable, "-m", *command], cwd=ROOT, check=False).returncode:
            return 1
    return 0


TIERS = ("unit", "e2e", "platform")


def arguments(argv: list[str]) -> tuple[bool, list[str]]:
    """Whether to lint first, and the pytest arguments, from this script's arguments."""
    args = list(argv)
    fast = "--fast" in args
    if fast:
        args.remove("--fast")
    tiers = []
    while "--tier" in args or any(a.startswith("--tier=") for a in args):
        at = next(i for i, a in enumerate(args) if a == "--tier" or a.startswith("--tier="))
        option = args.pop(at)
        if option == "--tier":
            if at == len(args):
                sys.exit(f"--tier needs a name: {', '.join(TIERS)}")
            option = args.pop(at)
        tiers.append(option.removeprefix("--tier="))
    for tier in tiers:
        if tier not in TIERS:
            sys.exit(f"unknown tier {tier!r}: {', '.join(TIERS)}")
    if fast and tiers:
        sys.exit("--fast is the unit tier with the lint pass: give one of --fast, --tier")
    if fast:
        # The quick loop: the unit tier, spread over every core (its tests share nothing
        # but loopback ports, each picked free). CI runs the tiers in one process each.
        tiers = ["unit"]
        args = ["-n", "auto", *args]
    marker = ["-m", " or ".join(tiers)] if tiers else []
    return fast or not argv, [*marker, *args]


def main() -> int | str:
    """Lint when asked, then pytest; the exit status (or the lint failure message)."""
    if sys.argv[1:] == ["--lint"]:
        return lint()
    with_lint, pytest_args = arguments(sys.argv[1:])
    if with_lint and lint():
        return (
            "Lint failed: `.venv/bin/ruff check --fix . && .venv/bin/ruff format .` fixes most;"
            " `.venv/bin/mypy` shows the type errors."
        )
    return pytest.main(["-p", "no:cacheprovider", *pytest_args])


if __name__ == "__main__":
    sys.exit(main())
