"""Run the whole test suite: `python3 run_tests.py [pytest arguments]`.

Works on a fresh machine with only python3 and pip: the first run builds .venv.
"""

from __future__ import annotations

import sys

from scripts import devenv

devenv.ensure("run_tests.py")

import pytest  # noqa: E402  (only importable inside .venv)

sys.exit(pytest.main(["-p", "no:cacheprovider", *sys.argv[1:]]))
