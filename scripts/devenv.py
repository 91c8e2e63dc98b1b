"""Create and reuse the project's virtual environment (.venv) for the two README commands.

`demo.py` and `run_tests.py` need nothing but python3 and pip: on first use this makes
`.venv`, installs the project with its dev extra under `requirements.lock` (pinned
versions, so every machine and CI get the same packages), then re-runs the calling
script inside it. Later runs reuse it, reinstalling only when pyproject.toml or the
lock changed.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
STAMP = VENV / ".tap-litmos-install"


def _venv_python() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _wanted_stamp() -> str:
    digest = hashlib.sha256()
    for name in ("pyproject.toml", "requirements.lock"):
        digest.update((ROOT / name).read_bytes())
    return digest.hexdigest()


def _inside_venv() -> bool:
    return Path(sys.prefix).resolve() == VENV.resolve()


def ensure(script: str) -> None:
    """Make sure the caller runs inside an up-to-date .venv; re-exec it there if not."""
    python = _venv_python()
    if not python.exists():
        print(f"Creating {VENV.name} ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    wanted = _wanted_stamp()
    if not STAMP.exists() or STAMP.read_text() != wanted:
        print("Installing tap-litmos and its dev tools (pinned by requirements.lock) ...",
              flush=True)
        pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        subprocess.run([*pip, "--upgrade", "pip"], check=True)
        subprocess.run(
            [*pip, "-c", str(ROOT / "requirements.lock"), "-e", f"{ROOT}[dev]"], check=True
        )
        STAMP.write_text(wanted)
    if not _inside_venv():
        os.execv(str(python), [str(python), str(ROOT / script), *sys.argv[1:]])  # noqa: S606
