"""tap-litmos.yml: the Meltano plugin definition other people's projects add the tap from.

`python3 scripts/regenerate.py` writes it. The repository checks apply Meltano Hub's own
rules to it, as the Hub's CI would to a listing (its JSON schema and yamllint config,
vendored in tests/data/meltano_hub), and keep it equal to what the tap says about itself
(`--about`) and to the extractor in meltano.yml. The end-to-end test does what
docs/meltano.md tells a new user: a brand-new Meltano project in a temporary directory,
`meltano add ... --from-ref tap-litmos.yml`, then a run against the sandbox into
target-jsonl.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import typing as t
from pathlib import Path

import jsonschema
import pytest
import yaml
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7
from yamllint import linter as yamllint_linter
from yamllint.config import YamlLintConfig

try:
    import tomllib
except ImportError:  # Python < 3.11
    import tomli as tomllib  # type: ignore[no-redef]

from tests.helpers.expect import API_KEY, expected_record
from tests.helpers.meltano import meltano_cli

if t.TYPE_CHECKING:
    from litmos_sandbox import LitmosSandbox


ROOT = Path(__file__).resolve().parent.parent
PLUGIN_FILE = ROOT / "tap-litmos.yml"
BIN = Path(sys.executable).parent

#: Meltano Hub's own rules, as its CI applies them to a listing (tests/data/meltano_hub).
HUB = ROOT / "tests" / "data" / "meltano_hub"
MAINTAINER_FILE = ROOT / "meltano-hub-maintainer.yml"
REGENERATE = "python3 scripts/regenerate.py"
#: Kinds Meltano deprecates (use `sensitive: true` / `hidden: true`); the Hub still lists them.
DEPRECATED_KINDS = {"password", "hidden"}
#: Hub-only metadata: Meltano's `add --from-ref` drops these (they are no plugin attributes).
HUB_METADATA = {
    "domain_url",
    "keywords",
    "log_parser",
    "maintenance_status",
    "quality",
    "select",
}
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


def hub_validator() -> jsonschema.Draft7Validator:
    """The Hub's plugin_schema_validate.py: every schema registered under its `$id`."""
    schemas = [json.loads(path.read_text()) for path in sorted((HUB / "schemas").glob("*/*.json"))]
    registry = Registry().with_resources(
        (schema["$id"], Resource.from_contents(schema, default_specification=DRAFT7))
        for schema in schemas
    )
    (extractors,) = [s for s in schemas if s["$id"] == "extractors.schema.json"]
    return jsonschema.Draft7Validator(extractors, registry=registry)


@pytest.mark.unit
def test_plugin_file_passes_meltano_hubs_schema() -> None:
    errors = [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in hub_validator().iter_errors(plugin_file())
    ]
    assert not errors, f"tap-litmos.yml fails Meltano Hub's schema (fix {REGENERATE}): {errors}"
    # The rule really is applied: a definition without `quality` fails it.
    without_quality = {k: v for k, v in plugin_file().items() if k != "quality"}
    assert not hub_validator().is_valid(without_quality)


@pytest.mark.unit
def test_plugin_file_passes_meltano_hubs_yamllint() -> None:
    config = YamlLintConfig(file=str(HUB / "yamllint.yaml"))
    for path in (PLUGIN_FILE, MAINTAINER_FILE):
        problems = [
            f"{path.name}:{p.line}:{p.column}: {p.message} ({p.rule})"
            for p in yamllint_linter.run(path.read_text(), config, str(path))
        ]
        assert not problems, f"Meltano Hub's yamllint (fix {REGENERATE}):\n" + "\n".join(problems)
    # Its config forbids what a hand-written file had: inline {label, value} options.
    inline = "- name: x\n  options:\n  - {label: X, value: x}\n"
    assert any(p.rule == "braces" for p in yamllint_linter.run(inline, config))


@pytest.mark.unit
def test_plugin_file_passes_the_hubs_name_and_maintainer_checks() -> None:
    """yaml_check_names.py: the name is the listing's directory (`extractors/tap-litmos/`);
    maintainers_validate.py: the variant has an entry in the Hub's maintainers.yml, which
    a listing adds from meltano-hub-maintainer.yml."""
    plugin = plugin_file()
    assert plugin["name"] == "tap-litmos"
    maintainers = yaml.safe_load(MAINTAINER_FILE.read_text())
    assert plugin["variant"].lower() in maintainers
    entry = maintainers[plugin["variant"].lower()]
    assert entry["url"] == "/".join(plugin["repo"].split("/")[:-1])
    assert entry["name"] == plugin["variant"]


@pytest.mark.unit
def test_the_publisher_is_named_in_pyproject_only() -> None:
    """The placeholder owner comes from pyproject.toml's Repository URL; every file that
    names it is generated from there."""
    repository = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["urls"]
    owner = repository["Repository"].split("/")[-2]
    plugin = plugin_file()
    assert plugin["variant"] == owner
    assert plugin["repo"] == repository["Repository"]
    assert plugin["pip_url"] == f"git+{repository['Repository']}.git"


@pytest.mark.e2e
def test_plugin_file_is_what_meltano_reads() -> None:
    plugin = plugin_file()
    for setting in plugin["settings"]:
        assert {"name", "label", "kind", "description"} <= set(setting), setting
        assert setting["kind"] not in DEPRECATED_KINDS, setting
    assert plugin["pip_url"].startswith("git+https://"), "pip_url installs from a git URL"
    assert set(plugin["supported_python_versions"]) == {
        c.rsplit(" ", 1)[1]
        for c in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["classifiers"]
        if c.startswith("Programming Language :: Python :: 3.")
    }
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


@pytest.mark.e2e
def test_plugin_file_settings_equal_about() -> None:
    info = about()
    expected = [expected_setting(n, p) for n, p in about_settings(info["settings"])]
    actual = plugin_file()["settings"]
    assert [s["name"] for s in actual] == [s["name"] for s in expected], (
        f"tap-litmos.yml settings drifted from `tap-litmos --about --format=json`: {REGENERATE}"
    )
    for ours, theirs in zip(actual, expected, strict=True):
        assert without_option_labels(ours) == without_option_labels(theirs), (
            f"tap-litmos.yml drifted from --about ({REGENERATE}); the entry should read:\n"
            + yaml.safe_dump([theirs], sort_keys=False, width=1000)
        )
    assert plugin_file()["settings_group_validation"] == [["api_key"]]
    assert info["settings"]["required"] == ["api_key"]
    assert set(plugin_file()["capabilities"]) <= set(info["capabilities"])


@pytest.mark.unit
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


@pytest.mark.e2e
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
