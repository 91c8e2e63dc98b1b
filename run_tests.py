"""Run the lint pass and the whole test suite: `python3 run_tests.py [pytest arguments]`.

Works on a fresh machine with only python3 and pip: the first run builds .venv. With no
arguments (as CI and the README run it) ruff checks and format-checks the whole tree and
mypy type-checks tap_litmos/ first; with pytest arguments (a file, `-k ...`) only those tests run.
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


if len(sys.argv) == 1 and lint():
    sys.exit(
        "Lint failed: `.venv/bin/ruff check --fix . && .venv/bin/ruff format .` fixes most;"
        " `.venv/bin/mypy` shows the type errors."
    )
sys.exit(pytest.main(["-p", "no:cacheprovider", *sys.argv[1:]]))
