"""tap-litmos.yml: the Meltano plugin definition other people's projects add the tap from.

The repository checks keep it in Meltano Hub's shape and equal to what the tap says about
itself (`--about`) and to the extractor in meltano.yml, as test_repository.py does for the
README. The end-to-end test does what docs/meltano.md tells a new user: a brand-new Meltano
project in a temporary directory, `meltano add ... --from-ref tap-litmos.yml`, then a run
against the sandbox into target-jsonl.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import typing as t
from pathlib import Path

import pytest
import yaml

from tests.helpers.expect import API_KEY, expected_record
from tests.helpers.meltano import meltano_cli

if t.TYPE_CHECKING:
    from litmos_sandbox import LitmosSandbox

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parent.parent
PLUGIN_FILE = ROOT / "tap-litmos.yml"
BIN = Path(sys.executable).parent

# Meltano Hub's JSON schemas (github.com/meltano/hub, schemas/plugin_definitions/
# extractors.schema.json, schemas/common/{common,extractors_specific,base_setting}.schema.json).
HUB_KEYS = {
    "name",
    "pip_url",
    "variant",
    "namespace",
    "label",
    "description",
    "executable",
    "settings",
    "docs",
    "repo",
    "logo_url",
    "hidden",
    "settings_group_validation",
    "commands",
    "capabilities",
    "metadata",
    "schema",
    "select",
    "maintenance_status",
    "domain_url",
    "keywords",
    "requires",
    "definition",
    "next_steps",
    "settings_preamble",
    "usage",
    "prereq",
}
HUB_REQUIRED = {"name", "namespace", "variant", "label"}
HUB_SETTING_KEYS = {
    "name",
    "aliases",
    "label",
    "value",
    "placeholder",
    "kind",
    "description",
    "tooltip",
    "documentation",
    "env",
    "value_processor",
    "value_post_processor",
    "oauth",
    "options",
    "docs",
    "hidden",
    "sensitive",
}
# Hub's kind enum without the two Meltano deprecates (`password`, `hidden`: use
# `sensitive: true` / `hidden: true`).
KINDS = {
    "oauth",
    "date_iso8601",
    "file",
    "email",
    "integer",
    "options",
    "object",
    "array",
    "boolean",
    "string",
    "decimal",
}
HUB_CAPABILITIES = {
    "properties",
    "catalog",
    "discover",
    "state",
    "about",
    "stream-maps",
    "schema-flattening",
    "activate-version",
    "batch",
    "test",
    "log-based",
    "structured-logging",
}
# Hub-only metadata: Meltano's `add --from-ref` drops these (they are no plugin attributes).
HUB_METADATA = {"select", "keywords", "domain_url", "maintenance_status"}
PARSE_WITH_MELTANO = """
import json, sys, yaml
from meltano.core.plugin import PluginType
from meltano.core.plugin.base import PluginDefinition
with open(sys.argv[1]) as file:
    plugin = yaml.safe_load(file)
parsed = PluginDefinition.parse({"plugin_type": PluginType.EXTRACTORS, **plugin})
print(json.dumps(sorted(parsed.extras)))
"""
JSON_KINDS = {
    "string": "string",
    "integer": "integer",
    "number": "decimal",
    "boolean": "boolean",
    "array": "array",
    "object": "object",
}


def plugin_file() -> dict[str, t.Any]:
    return yaml.safe_load(PLUGIN_FILE.read_text())


def project_extractor() -> dict[str, t.Any]:
    (extractor,) = yaml.safe_load((ROOT / "meltano.yml").read_text())["plugins"]["extractors"]
    return extractor


def about() -> dict[str, t.Any]:
    out = subprocess.run(
        [str(BIN / "tap-litmos"), "--about", "--format=json"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(out)


def about_settings(schema: dict[str, t.Any], prefix: str = "") -> t.Iterator[tuple[str, dict]]:
    """`--about`'s settings as Meltano Hub lists them: an object setting with named
    properties is given leaf by leaf (`batch_config.encoding.format`); names starting with
    `__` (stream_maps' `__else__`) are keys of a free-form object, not settings."""
    for name, prop in schema.get("properties", {}).items():
        if name.startswith("__"):
            continue
        named = [n for n in prop.get("properties", {}) if not n.startswith("__")]
        if named:
            yield from about_settings(prop, f"{prefix}{name}.")
        else:
            yield f"{prefix}{name}", prop


def json_types(prop: dict[str, t.Any]) -> set[str]:
    found: set[str] = set()
    for alternative in [prop, *prop.get("oneOf", []), *prop.get("anyOf", [])]:
        if isinstance(alternative, dict):
            kind = alternative.get("type", [])
            found.update([kind] if isinstance(kind, str) else kind)
    return found - {"null"}


def meltano_kind(prop: dict[str, t.Any]) -> str:
    types = json_types(prop)
    if "enum" in prop:
        return "options"
    if prop.get("format") in {"date-time", "date"}:
        return "date_iso8601"
    if "array" in types:
        return "array"
    if len(types) == 1:
        return JSON_KINDS[types.pop()]
    return "string"  # a scalar of several types (faker_config.seed)


def expected_setting(name: str, prop: dict[str, t.Any]) -> dict[str, t.Any]:
    """The plugin file's entry for one `--about` setting, options' labels aside."""
    entry: dict[str, t.Any] = {
        "name": name,
        "label": prop.get("title") or name.replace("_", " ").replace(".", " ").title(),
        "kind": meltano_kind(prop),
    }
    if prop.get("secret"):
        entry["sensitive"] = True
    if prop.get("default") is not None:
        entry["value"] = prop["default"]
    if "enum" in prop:
        entry["options"] = [{"label": "...", "value": v} for v in prop["enum"]]
    entry["description"] = prop.get("description", "")
    return entry


def without_option_labels(setting: dict[str, t.Any]) -> dict[str, t.Any]:
    if "options" not in setting:
        return setting
    return {**setting, "options": [o["value"] for o in setting["options"]]}


# --- repository checks ----------------------------------------------------------------


def test_plugin_file_has_meltano_hubs_shape() -> None:
    plugin = plugin_file()
    assert HUB_REQUIRED <= set(plugin) <= HUB_KEYS
    assert set(plugin["capabilities"]) <= HUB_CAPABILITIES
    assert plugin["pip_url"].startswith("git+https://"), "pip_url installs from a git URL"
    for setting in plugin["settings"]:
        assert {"name", "label", "kind", "description"} <= set(setting) <= HUB_SETTING_KEYS
        assert setting["kind"] in KINDS, setting
        assert all(isinstance(o["value"], str) and o["label"] for o in setting.get("options", []))
    # Meltano reads every other key as a plugin attribute: nothing else is dropped silently.
    # (Meltano's own parser, in a process of its own: importing meltano here could change
    # the logging the other tests inspect.)
    extras = subprocess.run(
        [sys.executable, "-c", PARSE_WITH_MELTANO, str(PLUGIN_FILE)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert set(json.loads(extras)) == HUB_METADATA


def test_plugin_file_settings_equal_about() -> None:
    info = about()
    expected = [expected_setting(n, p) for n, p in about_settings(info["settings"])]
    actual = plugin_file()["settings"]
    assert [s["name"] for s in actual] == [s["name"] for s in expected], (
        "tap-litmos.yml settings drifted from `tap-litmos --about --format=json`"
    )
    for ours, theirs in zip(actual, expected, strict=True):
        assert without_option_labels(ours) == without_option_labels(theirs), (
            "tap-litmos.yml drifted from --about; the entry should read:\n"
            + yaml.safe_dump([theirs], sort_keys=False, width=1000)
        )
    assert plugin_file()["settings_group_validation"] == [["api_key"]]
    assert info["settings"]["required"] == ["api_key"]
    assert set(plugin_file()["capabilities"]) <= set(info["capabilities"])


def test_plugin_file_equals_the_extractor_in_meltano_yml() -> None:
    plugin, extractor = plugin_file(), project_extractor()
    for key in (
        "name",
        "namespace",
        "label",
        "executable",
        "capabilities",
        "settings_group_validation",
        "select",
        "commands",
    ):
        assert plugin[key] == extractor[key], key
    declared = {s["name"]: s for s in extractor["settings"]}
    ours = [s for s in plugin["settings"] if s["name"] in declared]
    assert [s["name"] for s in ours] == list(declared)
    # meltano.yml keeps shorter descriptions; everything else is the same.
    for setting in ours:
        assert {k: v for k, v in setting.items() if k != "description"} == {
            k: v for k, v in declared[setting["name"]].items() if k != "description"
        }, setting["name"]


# --- end to end: a brand-new Meltano project ------------------------------------------


def test_a_new_meltano_project_adds_the_plugin_from_the_file_and_runs_it(
    sandbox: LitmosSandbox, tmp_path: Path
) -> None:
    project = tmp_path / "project"
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("MELTANO_", "TAP_LITMOS_", "TARGET_JSONL_"))
    }
    env.update(
        {
            "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
            # Nothing here may need Meltano Hub; an unreachable Hub proves it.
            "MELTANO_HUB_URL": "http://127.0.0.1:9",
            "TAP_LITMOS_API_URL": sandbox.base_url,
            "TAP_LITMOS_MAX_REQUESTS_PER_MINUTE": "0",
            "TARGET_JSONL_DESTINATION_PATH": str(tmp_path / "jsonl"),
            "TARGET_JSONL_DO_TIMESTAMP_FILE": "false",
        }
    )
    (tmp_path / "jsonl").mkdir()

    meltano = meltano_cli(env, cwd=project)

    def extractors() -> dict[str, t.Any]:
        return yaml.safe_load((project / "meltano.yml").read_text())["plugins"]

    meltano_cli(env, cwd=tmp_path)("init", str(project), "--no-usage-stats")
    meltano(
        "add",
        "--plugin-type",
        "extractor",
        "tap-litmos",
        "--from-ref",
        str(PLUGIN_FILE),
        "--no-install",
    )
    plugins = extractors()
    assert list(plugins) == ["extractors"]
    (added,) = plugins["extractors"]
    plugin = plugin_file()
    assert added == {k: v for k, v in plugin.items() if k not in HUB_METADATA}

    # The file's pip_url is the public git URL (a placeholder here). A git URL install
    # builds a wheel from the repository and installs it: do that with this checkout, as
    # it is on disk (uncommitted changes included), and point pip_url at the wheel.
    subprocess.run(
        [
            str(BIN / "uv"),
            "build",
            "--wheel",
            "--quiet",
            "--out-dir",
            str(tmp_path / "dist"),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = (tmp_path / "dist").glob("tap_litmos-*.whl")
    meltano_yml = yaml.safe_load((project / "meltano.yml").read_text())
    meltano_yml["plugins"]["extractors"][0]["pip_url"] = str(wheel)
    (project / "meltano.yml").write_text(yaml.safe_dump(meltano_yml, sort_keys=False))
    meltano("install", "--plugin-type", "extractor", "tap-litmos")

    # The loader, from the same definition the repository's meltano.yml uses.
    (jsonl,) = [
        p
        for p in yaml.safe_load((ROOT / "meltano.yml").read_text())["plugins"]["loaders"]
        if p["name"] == "target-jsonl"
    ]
    (tmp_path / "target-jsonl.yml").write_text(yaml.safe_dump(jsonl))
    meltano(
        "add",
        "--plugin-type",
        "loader",
        "target-jsonl",
        "--from-ref",
        str(tmp_path / "target-jsonl.yml"),
    )

    # docs/meltano.md's commands: the key goes to .env, never to meltano.yml.
    meltano("config", "set", "tap-litmos", "api_key", API_KEY)
    assert API_KEY not in (project / "meltano.yml").read_text()
    assert f"TAP_LITMOS_API_KEY='{API_KEY}'" in (project / ".env").read_text()
    catalog = json.loads((ROOT / "catalog.json").read_text())
    streams = {s["tap_stream_id"] for s in catalog["streams"]}
    selected = {rule.removesuffix(".*") for rule in plugin["select"]}
    meltano("select", "tap-litmos", "*", "*")
    for stream in sorted(streams - selected):
        meltano("select", "tap-litmos", "--exclude", stream, "*")

    meltano("run", "tap-litmos", "target-jsonl")

    written = {p.stem: p.read_text().splitlines() for p in (tmp_path / "jsonl").glob("*.jsonl")}
    assert set(written) == selected
    for stream in selected:
        assert len(written[stream]) == len(sandbox.truth(stream)), stream
    records = {r["AchievementId"]: r for r in map(json.loads, written["achievements"])}
    assert records == {r["AchievementId"]: expected_record(r) for r in sandbox.truth()}
    state = json.loads(meltano("state", "get", "dev:tap-litmos-to-target-jsonl"))
    assert state["singer_state"]["bookmarks"]["achievements"]["replication_key_value"] == max(
        r["AchievementDate"] for r in records.values()
    )
