"""Create and reuse the project's virtual environment (.venv) for the two README commands.

`demo.py` and `run_tests.py` need nothing but python3 and pip: on first use this makes
`.venv` with the Python that runs them, installs the project with its dev extra under
`requirements.lock` (pinned versions, so every machine and CI get the same packages),
then the Litmos sandbox from `sandbox/` (its own distribution, litmos-sandbox: a
development tool, not part of tap-litmos), both editable, then re-runs the calling script
inside it. Later runs reuse it, reinstalling only when either pyproject.toml or the lock
changed, and rebuilding it when started by another Python
version than the one it was made with (`python3.12 run_tests.py` tests on 3.12).

requirements.lock is one file for every Python version the package claims: lines that
differ by version carry an environment marker, and pip applies only those that match
the running Python (`python3 scripts/lock.py` writes it, `--check` verifies it).
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
STAMP = VENV / ".tap-litmos-install"
LOCK = ROOT / "requirements.lock"
SANDBOX = ROOT / "sandbox"  # the litmos-sandbox distribution


def _venv_python() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _running_version() -> str:
    return "%d.%d" % sys.version_info[:2]  # noqa: UP031


def _venv_version() -> str | None:
    """The X.Y of the Python .venv was made with (from its pyvenv.cfg), if it exists."""
    try:
        config = (VENV / "pyvenv.cfg").read_text()
    except FileNotFoundError:
        return None
    match = re.search(r"^version(?:_info)?\s*=\s*(\d+\.\d+)", config, re.MULTILINE)
    return match.group(1) if match else None


def _wanted_stamp() -> str:
    digest = hashlib.sha256()
    for path in (ROOT / "pyproject.toml", SANDBOX / "pyproject.toml", LOCK):
        digest.update(path.read_bytes())
    digest.update(_running_version().encode())
    return digest.hexdigest()


def _inside_venv() -> bool:
    return Path(sys.prefix).resolve() == VENV.resolve()


def _warn_if_unclaimed() -> None:
    claimed = re.findall(
        r'"Programming Language :: Python :: (3\.\d+)"', (ROOT / "pyproject.toml").read_text()
    )
    if claimed and _running_version() not in claimed:
        print(
            f"Warning: tap-litmos claims Python {', '.join(claimed)}, not "
            f"{_running_version()}; requirements.lock is checked on those only.",
            flush=True,
        )


def ensure(script: str) -> None:
    """Make sure the caller runs inside an up-to-date .venv; re-exec it there if not."""
    python = _venv_python()
    if not _inside_venv():
        made_with = _venv_version()
        if python.exists() and made_with not in {None, _running_version()}:
            print(
                f"Rebuilding {VENV.name} for Python {_running_version()} "
                f"(it was made with {made_with}) ...",
                flush=True,
            )
            venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
        elif not python.exists():
            print(f"Creating {VENV.name} ...", flush=True)
            venv.EnvBuilder(with_pip=True).create(VENV)
    wanted = _wanted_stamp()
    if not STAMP.exists() or STAMP.read_text() != wanted:
        _warn_if_unclaimed()
        print(
            "Installing tap-litmos, its dev tools (pinned by requirements.lock) and the "
            "Litmos sandbox ...",
            flush=True,
        )
        pip = [
            str(python),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "-c",
            str(LOCK),
        ]
        subprocess.run([*pip, "--upgrade", "pip"], check=True)
        subprocess.run([*pip, "-e", f"{ROOT}[dev]"], check=True)
        subprocess.run([*pip, "-e", str(SANDBOX)], check=True)
        STAMP.write_text(wanted)
    if not _inside_venv():
        os.execv(str(python), [str(python), str(ROOT / script), *sys.argv[1:]])  # noqa: S606
