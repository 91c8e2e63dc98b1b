"""The repository's generated artefacts stay equal to what the tap says about itself."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tap_litmos.settings import CONFIG_SCHEMA

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parent.parent
TAP = str(Path(sys.executable).parent / "tap-litmos")


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
    assert committed == discovered, "catalog.json drifted: regenerate it with --discover"


def test_readme_settings_table_equals_about() -> None:
    about = tap_output("--about", "--format=markdown")
    table = about.split("## Settings", 1)[1].split("\n\n", 2)[1].strip()
    assert table.startswith("| Setting |")
    assert table in (ROOT / "README.md").read_text(), (
        "README settings table drifted: paste `tap-litmos --about --format=markdown`'s table"
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
        assert row.search(readme), f"README streams table lacks {entry['tap_stream_id']}"
