"""PyAirbyte in a virtualenv of its own (.airbyte-venv/, ignored by git), as a user's is.

PyAirbyte pins many libraries (pydantic, SQLAlchemy, DuckDB ...) that must not reach the
project's .venv, so it gets its own, built on first use by the test command itself and
reused while the version, the constraints and the interpreter stay the same. `uv`
installs it in about 15 s (pip takes minutes). `pyairbyte-constraints.txt` pins every
package it brings, as measured, so every machine and CI get the same ones.

PyAirbyte 0.71.3 supports Python 3.10 to 3.12: the interpreter of the project's .venv
when it is one of those, else the first python3.12/3.11/3.10 on the PATH.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VENV = ROOT / ".airbyte-venv"
STAMP = VENV / ".tap-litmos-install"
CONSTRAINTS = Path(__file__).resolve().parent / "pyairbyte-constraints.txt"
AIRBYTE = "airbyte==0.71.3"
UV = "uv==0.8.24"
SUPPORTED = ((3, 10), (3, 11), (3, 12))
#: What PyAirbyte needs offline: no registry look-up for a local executable, no telemetry.
OFFLINE_ENV = {"AIRBYTE_OFFLINE_MODE": "1", "DO_NOT_TRACK": "1", "NO_LIVE_PROGRESS": "1"}


class PyAirbyteUnavailableError(RuntimeError):
    """The virtualenv could not be built (no supported Python, or no package index)."""


def python() -> Path:
    """The virtualenv's python, built or rebuilt first if needed."""
    base = _interpreter()
    venv_python = VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    wanted = _stamp(base)
    if venv_python.exists() and STAMP.exists() and STAMP.read_text() == wanted:
        return venv_python
    print(f"Building {VENV.name} with {AIRBYTE} (about 20 s) ...", file=sys.stderr, flush=True)  # noqa: T201
    _run([str(base), "-m", "venv", "--clear", str(VENV)])
    quiet = ["--quiet", "--disable-pip-version-check"]
    _run([str(venv_python), "-m", "pip", "install", *quiet, UV])
    _run([
        str(venv_python), "-m", "uv", "pip", "install", "--quiet", "--python", str(venv_python),
        AIRBYTE, "--constraint", str(CONSTRAINTS),
    ])  # fmt: skip
    STAMP.write_text(wanted)
    return venv_python


def _interpreter() -> Path:
    if sys.version_info[:2] in SUPPORTED:
        return Path(getattr(sys, "_base_executable", sys.executable))
    for minor in (12, 11, 10):
        found = shutil.which(f"python3.{minor}")
        if found:
            return Path(found)
    msg = "PyAirbyte needs Python 3.10, 3.11 or 3.12, and none is on the PATH"
    raise PyAirbyteUnavailableError(msg)


def _stamp(base: Path) -> str:
    digest = hashlib.sha256(f"{AIRBYTE} {UV} {base}".encode())
    digest.update(CONSTRAINTS.read_bytes())
    return digest.hexdigest()


def _run(command: list[str]) -> None:
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode:
        msg = f"{' '.join(command[:6])} ... failed:\n{result.stdout[-2000:]}{result.stderr[-3000:]}"
        raise PyAirbyteUnavailableError(msg)


__all__ = ["OFFLINE_ENV", "PyAirbyteUnavailableError", "python"]
