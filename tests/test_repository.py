"""The repository's generated artefacts stay equal to what the tap says about itself.

`python3 scripts/regenerate.py` writes them all (catalog.json, the README's tables, the
sandbox README's endpoint table, tap-litmos.yml, the `select` lists, the version in
metadata.yaml, the Dockerfile and the dbt project); `--check` says which drifted. The
checks below compare the files with the tap itself, independently of that script, and
name it in their failure message.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

try:
    import tomllib
except ImportError:  # Python < 3.11
    import tomli as tomllib  # type: ignore[no-redef]

from tap_litmos.settings import CONFIG_SCHEMA

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parent.parent
TAP = str(Path(sys.executable).parent / "tap-litmos")
REGENERATE = "python3 scripts/regenerate.py"


def tap_output(*args: str, config: dict | None = None, tmp_path: Path | None = None) -> str:
    cmd = [TAP, *args]
    if config is not None and tmp_path is not None:
        config_file = tmp_path / "config.json"
        config_file.write_text(json.dumps(config))
        cmd += ["--config", str(config_file)]
    return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout


def test_catalog_json_equals_discover(tmp_path: Path) -> None:
    discovered = json.loads(tap_output("--discover", config={"api_key": "any"}, tmp_path=tmp_path))
    committed = json.loads((ROOT / "catalog.json").read_text())
    assert committed == discovered, f"catalog.json drifted from --discover: {REGENERATE}"


def test_readme_settings_table_equals_about() -> None:
    about = tap_output("--about", "--format=markdown")
    table = about.split("## Settings", 1)[1].split("\n\n", 2)[1].strip()
    assert table.startswith("| Setting |")
    assert table in (ROOT / "README.md").read_text(), (
        f"README settings table drifted from `tap-litmos --about --format=markdown`: {REGENERATE}"
    )


def test_meltano_yml_mirrors_every_setting() -> None:
    project = yaml.safe_load((ROOT / "meltano.yml").read_text())
    (extractor,) = project["plugins"]["extractors"]
    declared = {s["name"]: s for s in extractor["settings"]}
    assert list(declared) == list(CONFIG_SCHEMA["properties"])
    assert declared["api_key"].get("sensitive") is True
    assert extractor["settings_group_validation"] == [["api_key"]]
    for name, prop in CONFIG_SCHEMA["properties"].items():
        default = prop.get("default")
        if default is not None:
            assert declared[name].get("value") == default, name
        if "enum" in prop:
            assert [o["value"] for o in declared[name]["options"]] == prop["enum"], name


def test_readme_streams_table_names_every_stream() -> None:
    catalog = json.loads((ROOT / "catalog.json").read_text())
    readme = (ROOT / "README.md").read_text()
    for entry in catalog["streams"]:
        metadata = next(m["metadata"] for m in entry["metadata"] if m["breadcrumb"] == [])
        keys = ", ".join(metadata["table-key-properties"])
        replication = entry.get("replication_key")
        replication = f"`{replication}`" if replication else "full table"
        row = re.compile(rf"\| `{entry['tap_stream_id']}` \|[^\n]*\| `{keys}` \| {replication} \|")
        assert row.search(readme), (
            f"README streams table lacks {entry['tap_stream_id']}: {REGENERATE}"
        )


def test_every_generated_artefact_is_current() -> None:
    result = subprocess.run(
        # The dbt lineage aside: tests/test_dbt.py checks it against its own dbt run.
        [sys.executable, str(ROOT / "scripts" / "regenerate.py"), "--check", "--no-dbt"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, f"{result.stdout}{result.stderr[-2000:]}\nRun: {REGENERATE}"


def test_one_version_everywhere() -> None:
    """pyproject.toml's version is the one source; the Airbyte metadata, the image's
    labels, the dbt project, the tap's --about and the changelog agree with it."""
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    metadata = yaml.safe_load((ROOT / "metadata.yaml").read_text())["data"]
    assert metadata["dockerImageTag"] == version, REGENERATE
    labels = dict(
        re.findall(r'^LABEL ([\w.]+)="([^"]*)"$', (ROOT / "Dockerfile").read_text(), re.MULTILINE)
    )
    assert labels["io.airbyte.version"] == version, REGENERATE
    dbt_project = yaml.safe_load((ROOT / "transform" / "dbt_project.yml").read_text())
    assert dbt_project["version"] == version, REGENERATE
    assert json.loads(tap_output("--about", "--format=json"))["version"] == version
    assert re.search(
        rf"^## \[?{re.escape(version)}\]?", (ROOT / "CHANGELOG.md").read_text(), re.MULTILINE
    ), "CHANGELOG.md has no section for this version"
