"""What the Airbyte platform gets: the Dockerfile, metadata.yaml and the console script.

No container runtime is available here, so the image is never built. What it does is
tested instead: its context (the files the Dockerfile copies, as .dockerignore lets them
through) is installed with `pip install .` into a clean virtualenv under the pinned
versions, and its entrypoint, the `source-litmos` console script, answers `spec` there.
Neither the image nor the wheel carries the Litmos sandbox (sandbox/, its own
distribution): it is a development tool, not part of the product.
"""

from __future__ import annotations

import fnmatch
import json
import shutil
import subprocess
import sys
import venv
import zipfile
from importlib import metadata
from pathlib import Path

import pytest
import yaml

from tests.helpers.airbyte_source import run_source

ROOT = Path(__file__).resolve().parents[3]
DOCKERFILE = (ROOT / "Dockerfile").read_text()


def instructions(name: str) -> list[str]:
    """The arguments of every Dockerfile instruction `name`, continuation lines joined."""
    text = DOCKERFILE.replace("\\\n", " ")
    return [
        line.split(None, 1)[1].strip()
        for line in text.splitlines()
        if line.split(None, 1)[:1] == [name]
    ]


def copied() -> list[str]:
    """The context paths the Dockerfile copies."""
    return [p for args in instructions("COPY") for p in args.split()[:-1]]


def let_through(path: str) -> bool:
    """Whether .dockerignore (a deny-all with exceptions) lets `path` into the context."""
    allowed = False
    for rule in (ROOT / ".dockerignore").read_text().splitlines():
        rule = rule.strip()
        if not rule or rule.startswith("#"):
            continue
        negated = rule.startswith("!")
        pattern = rule.lstrip("!").rstrip("/")
        if fnmatch.fnmatch(path.rstrip("/"), pattern):
            allowed = negated
    return allowed


@pytest.mark.unit
def test_the_image_runs_the_console_script_as_airbyte_images_do() -> None:
    assert instructions("ENTRYPOINT") == ['["source-litmos"]']
    assert instructions("ENV") == ['AIRBYTE_ENTRYPOINT="source-litmos"']
    (script,) = [
        e for e in metadata.entry_points(group="console_scripts") if e.name == "source-litmos"
    ]
    assert script.value == "tap_litmos.airbyte.cli:main"
    for path in copied():
        assert (ROOT / path).exists(), path
        assert let_through(path), f"{path} is copied but .dockerignore keeps it out"
    for kept_out in (".venv", ".airbyte-venv", "tests", ".meltano", "sandbox", "litmos_sandbox"):
        assert not let_through(kept_out), kept_out


@pytest.mark.e2e
def test_metadata_is_in_airbyte_connector_shape_and_agrees_with_the_image(tmp_path: Path) -> None:
    data = yaml.safe_load((ROOT / "metadata.yaml").read_text())["data"]
    assert data["connectorType"] == "source"
    assert "language:python" in data["tags"]
    assert data["name"] == "Litmos"
    assert data["dockerImageTag"] == metadata.version("tap-litmos")
    labels = dict(item.split("=", 1) for args in instructions("LABEL") for item in args.split())
    assert json.loads(labels["io.airbyte.version"]) == data["dockerImageTag"]
    assert json.loads(labels["io.airbyte.name"]) == data["dockerRepository"]
    assert instructions("FROM") == [data["connectorBuildOptions"]["baseImage"]]
    (spec,) = run_source("spec", tmp_path).of_type("SPEC")
    assert data["documentationUrl"] == spec["spec"]["documentationUrl"]


@pytest.mark.platform
def test_pip_install_of_the_image_context_gives_a_working_source_litmos(tmp_path: Path) -> None:
    context = tmp_path / "context"
    for path in copied():
        source = ROOT / path
        if source.is_dir():
            shutil.copytree(source, context / path, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            context.mkdir(exist_ok=True)
            shutil.copy(source, context / path)
    env = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env)
    pip = [str(env / "bin" / "python"), "-m", "pip", "install", "--quiet"]
    subprocess.run(
        # --no-compile: the image compiles its bytecode; here it would only cost time.
        [*pip, "--no-compile", "--disable-pip-version-check", "-c", "requirements.lock", "."],
        cwd=context, check=True, capture_output=True, timeout=900,
    )  # fmt: skip
    installed = subprocess.run(
        [str(env / "bin" / "source-litmos"), "spec"],
        capture_output=True, timeout=120, check=True,
    )  # fmt: skip
    assert installed.stderr == b""
    (ours,) = run_source("spec", tmp_path).of_type("SPEC")
    assert [json.loads(line) for line in installed.stdout.splitlines()] == [ours]
    # The product only: no sandbox package, no litmos-sandbox script.
    assert not (env / "bin" / "litmos-sandbox").exists()
    found = subprocess.run(
        [str(env / "bin" / "python"), "-c", "import importlib.util as u; "
         "print(u.find_spec('litmos_sandbox') is None)"],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    assert found.stdout.strip() == "True"


@pytest.mark.platform
def test_the_wheel_built_from_the_root_holds_the_tap_alone(tmp_path: Path) -> None:
    """`pip install tap-litmos` installs tap_litmos and its three scripts, not the sandbox."""
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
         "--disable-pip-version-check", "--wheel-dir", str(tmp_path), str(ROOT)],
        check=True, capture_output=True, timeout=600,
    )  # fmt: skip
    (wheel,) = tmp_path.glob("tap_litmos-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        (entry_points,) = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
        scripts = archive.read(entry_points).decode()
    version = metadata.version("tap-litmos")
    assert {n.split("/", 1)[0] for n in names} == {"tap_litmos", f"tap_litmos-{version}.dist-info"}
    assert "litmos_sandbox" not in scripts and "litmos-sandbox" not in scripts
    console = scripts.split("[console_scripts]", 1)[1].split("[", 1)[0]
    names = sorted(line.split("=")[0].strip() for line in console.splitlines() if "=" in line)
    installed = metadata.distribution("tap-litmos").entry_points.select(group="console_scripts")
    assert names == sorted(e.name for e in installed)
    assert "tap-litmos" in names
