"""Rewrite every generated artefact of the repository from the code that defines it.

    python3 scripts/regenerate.py            # rewrite what drifted, name each file
    python3 scripts/regenerate.py --check    # write nothing; exit 1 and name what drifted

The stream classes (`tap_litmos.streams.STREAM_TYPES`, their access pattern, primary and
replication keys, `selected_by_default`) and the settings schema are the only hand-written
descriptions of the tap; the sandbox's endpoint specs (`litmos_sandbox.spec`) describe
the emulated Litmos. From them this writes:

- `catalog.json`: `tap-litmos --discover`;
- README.md: the streams table and the settings table (`tap-litmos --about
  --format=markdown`), between their marker comments;
- the sandbox's README: its endpoint table, from `litmos_sandbox.spec`;
- `tap-litmos.yml`: the Meltano plugin definition in Meltano Hub's shape (keys in
  alphabetical order, every setting of `--about`), and `meltano-hub-maintainer.yml`, the
  entry the Hub's `_data/maintainers.yml` needs for its variant;
- `meltano.yml` and `tap-litmos.yml`: the `select` list, the streams selected by default;
- the version (pyproject.toml's, the one source) in metadata.yaml, the Dockerfile's labels
  and transform/dbt_project.yml, and the publisher (pyproject.toml's `Repository` URL) in
  metadata.yaml and the Dockerfile's labels;
- docs/airbyte.md's table of the streams by sync mode;
- `airbyte/manifest-only/manifest.yaml`: the declarative manifest of the Airbyte source
  (scripts/airbyte_manifest.py), for Airbyte Cloud and the Connector Builder, and the
  streams table of its documentation page (`airbyte/manifest-only/litmos.md`);
- docs/dbt.md's lineage (scripts/dbt_lineage.py), when dbt is installed in `.meltano/`
  (`meltano install`): from `dbt parse`'s manifest (about half a minute). Without dbt, or
  with `--no-dbt`, the lineage is left as it is; tests/test_dbt.py checks it.

The tap and the sandbox are imported from this checkout (not from whatever copy is
installed), and the tap's commands run as `python -m tap_litmos` with this checkout first
on the path, so a copy of the repository regenerates its own artefacts.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import subprocess
import sys
import tempfile
import typing as t
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path[:1]:
    sys.path.insert(0, str(ROOT))

if importlib.util.find_spec("singer_sdk") is None:  # plain python3: use (or build) .venv
    from scripts import devenv

    devenv.ensure("scripts/regenerate.py")

import yaml  # noqa: E402  (only importable inside .venv)

try:
    import tomllib
except ImportError:  # Python < 3.11
    import tomli as tomllib  # type: ignore[no-redef]

import litmos_sandbox  # noqa: E402
from litmos_sandbox import spec as sandbox_spec  # noqa: E402
from scripts import airbyte_manifest, dbt_lineage  # noqa: E402
from tap_litmos.patterns import (  # noqa: E402
    DateWindowStream,
    DescendingSinceStream,
    FanOutStream,
    SnapshotStream,
)
from tap_litmos.streams import STREAM_TYPES  # noqa: E402

if t.TYPE_CHECKING:
    from collections.abc import Callable

    from tap_litmos.client import LitmosStream

COMMAND = "python3 scripts/regenerate.py"
PLUGIN_FILE = ROOT / "tap-litmos.yml"
MAINTAINER_FILE = ROOT / "meltano-hub-maintainer.yml"
MANIFEST_FILE = ROOT / "airbyte" / "manifest-only" / "manifest.yaml"
SANDBOX_README = Path(litmos_sandbox.__file__).resolve().parent / "README.md"
#: The audit columns of the `/org/*` rows (streams/fields.py AUDIT).
AUDIT = frozenset({"CreatedDate", "UpdatedDate", "CreatedBy", "UpdatedBy"})
#: Labels of the SDK's own option values (the tap's come from meltano.yml).
SDK_OPTION_LABELS = {"jsonl": "JSON Lines", "parquet": "Parquet", "gzip": "gzip", "none": "None"}
#: What Meltano Hub shows for a tap it has not rated yet (the Hub rates listings itself).
HUB_QUALITY = "unknown"
HUB_LOGO = "/assets/logos/extractors/litmos.png"


# --- what the stream classes say -------------------------------------------------------


def default_streams() -> list[str]:
    """The streams a run reads when no catalog selects otherwise, in STREAM_TYPES order."""
    return [s.name for s in STREAM_TYPES if s.selected_by_default]


def fan_out_streams() -> list[str]:
    """The streams a catalog must select (one request per parent record)."""
    return [s.name for s in STREAM_TYPES if not s.selected_by_default]


def replication_key(stream: type[LitmosStream]) -> str | None:
    """The class's replication key (on a class without one, the SDK's is a property)."""
    key = getattr(stream, "replication_key", None)
    return key if isinstance(key, str) else None


def incremental_streams() -> list[str]:
    """The streams with a replication key (a bookmark in the state)."""
    return [s.name for s in STREAM_TYPES if replication_key(s)]


def schema_fields(stream: type[LitmosStream]) -> dict[str, dict]:
    """The stream's fields and their JSON schemas."""
    return stream.schema["properties"]


def is_link_stream(stream: type[LitmosStream]) -> bool:
    """Whether the stream's rows are `/org/*` link rows.

    A link row relates two things: its fields are the two keys, their `Original...Id`s,
    `Active` and other flags, and the audit columns. A removal arrives as `Active = false`
    on the same key.
    """
    if not issubclass(stream, DateWindowStream) or len(stream.primary_keys) != 2:  # noqa: PLR2004
        return False
    fields = schema_fields(stream)
    others = [
        name
        for name in fields
        if name not in stream.primary_keys
        and name not in AUDIT
        and not re.fullmatch(r"Original\w+Id", name)
    ]
    return "Active" in fields and all("boolean" in fields[n].get("type", []) for n in others)


def link_streams() -> list[str]:
    """The `/org/*` link streams, in STREAM_TYPES order."""
    return [s.name for s in STREAM_TYPES if is_link_stream(s)]


def how_read(stream: type[LitmosStream]) -> str:
    """The streams table's "how it is read" cell, from the access pattern."""
    parent = stream.parent_stream_type
    if issubclass(stream, FanOutStream):
        return f"fan-out, 1 request per `{parent.name}` record"  # type: ignore[union-attr]
    if parent is not None:
        return f"with `{parent.name}`, no request of its own"
    if issubclass(stream, DateWindowStream):
        return "7-day windows, link rows" if is_link_stream(stream) else "7-day windows"
    if issubclass(stream, DescendingSinceStream):
        return "newest first, since the bookmark"
    if issubclass(stream, SnapshotStream):
        return "snapshot"
    msg = f"{stream.__name__}: no access pattern known to {COMMAND}"
    raise ValueError(msg)


def summary_line(stream: type[LitmosStream]) -> str:
    """The first line of the class docstring: its endpoint and what a row is."""
    return (stream.__doc__ or "").strip().splitlines()[0].replace("|", "\\|")


# --- generators -------------------------------------------------------------------------


def tap_output(*args: str) -> str:
    """`tap-litmos ARGS` from this checkout (a config with a dummy key for --discover)."""
    path = [str(ROOT), os.environ.get("PYTHONPATH", "")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, path))}
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "config.json"
        config.write_text(json.dumps({"api_key": "regenerate"}))
        cmd = [sys.executable, "-m", "tap_litmos", *args]
        if "--discover" in args:
            cmd += ["--config", str(config)]
        return subprocess.run(
            cmd, capture_output=True, text=True, check=True, env=env, cwd=ROOT
        ).stdout


def streams_table(catalog: dict) -> str:
    """README.md's streams table: one row per class of STREAM_TYPES."""
    entries = {e["tap_stream_id"]: e for e in catalog["streams"]}
    rows = [
        "| stream | endpoint | how it is read | primary key | replication key |",
        "|:--|:--|:--|:--|:--|",
    ]
    for stream in STREAM_TYPES:
        entry = entries[stream.name]
        keys = ", ".join(entry["key_properties"])
        replication = entry.get("replication_key")
        replication = f"`{replication}`" if replication else "full table"
        rows.append(
            f"| `{stream.name}` | {summary_line(stream)} | {how_read(stream)} | `{keys}` "
            f"| {replication} |"
        )
    fan_out = ", ".join(f"`{name}`" for name in fan_out_streams())
    rows += [
        "",
        (
            f"{len(STREAM_TYPES)} streams: {len(default_streams())} selected by default, "
            f"{len(fan_out_streams())} fan-out streams, not selected by default ({fan_out})."
        ),
    ]
    return "\n".join(rows)


def settings_table(about_markdown: str) -> str:
    """The table of `tap-litmos --about --format=markdown`'s Settings section."""
    table = about_markdown.split("## Settings", 1)[1].split("\n\n", 2)[1].strip()
    if not table.startswith("| Setting |"):
        msg = "tap-litmos --about --format=markdown: no settings table after '## Settings'"
        raise ValueError(msg)
    return table


def endpoint_table() -> str:
    """The sandbox README's table: every endpoint spec the sandbox serves."""

    def field(f: sandbox_spec.Field) -> str:
        return f.name if f.kind == "str" else f"{f.name}:{f.kind}"

    rows = [
        "| stream | path | XML root/row | primary key | fields in wire order (kind) | notes |",
        "|:--|:--|:--|:--|:--|:--|",
    ]
    for ep in sandbox_spec.ENDPOINTS.values():
        fields = ", ".join(field(f) for f in ep.fields)
        if ep.parents:
            fields += " + truth-only: " + ", ".join(f.name for f in ep.parents)
        note = ep.note.replace("|", "\\|")
        rows.append(
            f"| `{ep.stream}` | `{ep.path}` | {ep.root}/{ep.row} | {', '.join(ep.key)} "
            f"| {fields} | {note} |"
        )
    return "\n".join(rows)


def sync_modes_table() -> str:
    """docs/airbyte.md's table: the streams by Airbyte sync modes and cursor."""
    groups: dict[tuple[str, str], list[str]] = {}
    for stream in STREAM_TYPES:
        if not stream.selected_by_default:
            row = ("full refresh", "only with `fan_out_streams`")
        elif replication_key(stream):
            row = ("full refresh, incremental", f"`{replication_key(stream)}`")
        else:
            row = ("full refresh", "(snapshots: read whole every run)")
        groups.setdefault(row, []).append(f"`{stream.name}`")
    lines = ["| streams | sync modes | cursor (`default_cursor_field`) |", "|---|---|---|"]
    lines += [
        f"| {', '.join(names)} | {modes} | {cursor} |" for (modes, cursor), names in groups.items()
    ]
    return "\n".join(lines)


def between(document: str, name: str, content: str) -> str:
    """`document` with the text between `<!-- NAME:start -->` and its end marker replaced."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    if start not in document or end not in document:
        msg = f"no {start} ... {end} markers"
        raise ValueError(msg)
    head, rest = document.split(start, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{start}\n{content}\n{end}{tail}"


def project() -> dict[str, t.Any]:
    """pyproject.toml's [project] table."""
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def version() -> str:
    """The one version source: pyproject.toml's `version`."""
    return project()["version"]


def repository() -> str:
    """The repository's URL (pyproject.toml [project.urls] Repository: the publisher)."""
    return project()["urls"]["Repository"].rstrip("/")


def publisher() -> str:
    """The GitHub owner in the repository URL (`your-org` until published)."""
    return repository().split("/")[-2]


def project_extractor() -> dict[str, t.Any]:
    """The extractor in meltano.yml (its option labels, commands, capabilities)."""
    (extractor,) = yaml.safe_load((ROOT / "meltano.yml").read_text())["plugins"]["extractors"]
    return extractor


# --- the Meltano plugin file ------------------------------------------------------------

JSON_KINDS = {
    "string": "string",
    "integer": "integer",
    "number": "decimal",
    "boolean": "boolean",
    "array": "array",
    "object": "object",
}


def about_settings(schema: dict, prefix: str = "") -> t.Iterator[tuple[str, dict]]:
    """`--about`'s settings as Meltano lists them.

    An object setting with named properties is given leaf by leaf
    (`batch_config.encoding.format`); names starting with `__` (stream_maps' `__else__`)
    are keys of a free-form object, not settings.
    """
    for name, prop in schema.get("properties", {}).items():
        if name.startswith("__"):
            continue
        named = [n for n in prop.get("properties", {}) if not n.startswith("__")]
        if named:
            yield from about_settings(prop, f"{prefix}{name}.")
        else:
            yield f"{prefix}{name}", prop


def json_types(prop: dict) -> set[str]:
    """The JSON types a property allows, null aside."""
    found: set[str] = set()
    for alternative in [prop, *prop.get("oneOf", []), *prop.get("anyOf", [])]:
        if isinstance(alternative, dict):
            kind = alternative.get("type", [])
            found.update([kind] if isinstance(kind, str) else kind)
    return found - {"null"}


def meltano_kind(prop: dict) -> str:
    """Meltano's setting `kind` for a JSON schema property."""
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


def plugin_setting(name: str, prop: dict, labels: dict[str, str]) -> dict[str, t.Any]:
    """The plugin file's entry for one `--about` setting."""
    entry: dict[str, t.Any] = {
        "description": prop.get("description", ""),
        "kind": meltano_kind(prop),
        "label": prop.get("title") or name.replace("_", " ").replace(".", " ").title(),
        "name": name,
    }
    if "enum" in prop:
        entry["options"] = [
            {"label": labels.get(v) or SDK_OPTION_LABELS.get(v, v), "value": v}
            for v in prop["enum"]
        ]
    if prop.get("secret"):
        entry["sensitive"] = True
    if prop.get("default") is not None:
        entry["value"] = prop["default"]
    return entry


PLUGIN_HEADER = """\
# Meltano plugin definition of tap-litmos, in Meltano Hub's shape (meltano/hub:
# _data/meltano/extractors/tap-litmos/<variant>.yml) and passing the Hub's schema and
# yamllint config (tests/test_plugin_file.py). Add it to any Meltano project:
#
#   meltano add --plugin-type extractor tap-litmos --from-ref <URL or path of this file>
#
# GENERATED by `python3 scripts/regenerate.py` from the tap (`--about`, the stream classes)
# and pyproject.toml (version, Python versions, and the publisher in [project.urls]
# Repository, a placeholder until the repository is published: see the note there).
# Edit those, not this file. Meltano copies the plugin definition into the project; the
# Hub metadata (keywords, quality, select ...) stays here: docs/meltano.md gives the
# `meltano select` commands that select the same streams.
"""


def plugin_definition(about: dict) -> dict[str, t.Any]:
    """tap-litmos.yml: what the tap says about itself, with the Hub's metadata."""
    extractor = project_extractor()
    labels = {
        option["value"]: option["label"]
        for setting in extractor["settings"]
        for option in setting.get("options", [])
    }
    repo = repository()
    settings = [plugin_setting(n, p, labels) for n, p in about_settings(about["settings"])]
    return {
        "capabilities": extractor["capabilities"],
        "commands": extractor["commands"],
        "description": "Learning management system (LMS)",
        "docs": f"{repo}#readme",
        "domain_url": "https://www.litmos.com",
        "executable": extractor["executable"],
        "keywords": ["api", "lms", "meltano_sdk"],
        "label": extractor["label"],
        "log_parser": "singer-sdk",
        "logo_url": HUB_LOGO,
        "maintenance_status": "active",
        "name": extractor["name"],
        "namespace": extractor["namespace"],
        "pip_url": f"git+{repo}.git",
        "quality": HUB_QUALITY,
        "repo": repo,
        "select": [f"{name}.*" for name in default_streams()],
        "settings": settings,
        "settings_group_validation": extractor["settings_group_validation"],
        "supported_python_versions": about["supported_python_versions"],
        "variant": publisher(),
    }


class _HubDumper(yaml.SafeDumper):
    """Block style everywhere, sequences not indented under their key (the Hub's style)."""


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


_HubDumper.add_representer(str, _text)


def hub_yaml(data: t.Any) -> str:
    """YAML as Meltano Hub writes it: keys sorted, block style, lists not indented."""
    return yaml.dump(
        data,
        Dumper=_HubDumper,
        sort_keys=True,
        default_flow_style=False,
        allow_unicode=True,
        width=1_000_000,  # no folded lines (the Hub lints no line length)
    )


def plugin_file(about: dict) -> str:
    """The text of tap-litmos.yml."""
    return PLUGIN_HEADER + hub_yaml(plugin_definition(about))


def maintainer_file() -> str:
    """The text of meltano-hub-maintainer.yml."""
    owner = publisher()
    header = (
        "# The entry Meltano Hub's _data/maintainers.yml needs for this plugin's variant\n"
        "# (its listing PR adds it there). GENERATED by `python3 scripts/regenerate.py` from\n"
        "# pyproject.toml's Repository URL.\n"
    )
    entry = {owner.lower(): {"label": owner, "name": owner, "url": f"https://github.com/{owner}"}}
    return header + hub_yaml(entry)


# --- select lists, versions -------------------------------------------------------------

SELECT_START = "# regenerate:select:start"
SELECT_END = "# regenerate:select:end"


def meltano_yml(document: str) -> str:
    """meltano.yml with the extractor's generated `select` list."""
    pattern = re.compile(
        rf"^(?P<indent> *){re.escape(SELECT_START)}.*?^ *{re.escape(SELECT_END)}\n",
        re.MULTILINE | re.DOTALL,
    )
    match = pattern.search(document)
    if match is None:
        msg = f"meltano.yml: no {SELECT_START} ... {SELECT_END} lines"
        raise ValueError(msg)
    pad = match["indent"]
    lines = [
        f"{pad}{SELECT_START} (python3 scripts/regenerate.py: the streams selected by default;",
        f"{pad}# the fan-out ones cost a request per parent record: uncomment to add them)",
        f"{pad}select:",
        *(f"{pad}- {name}.*" for name in default_streams()),
    ]
    lines += [
        f"{pad}# - {stream.name}.*  # {how_read(stream)}"
        for stream in STREAM_TYPES
        if not stream.selected_by_default
    ]
    lines.append(f"{pad}{SELECT_END}")
    return document[: match.start()] + "\n".join(lines) + "\n" + document[match.end() :]


def with_versions(path: Path, document: str) -> str:
    """metadata.yaml, the Dockerfile or dbt_project.yml with pyproject's version.

    metadata.yaml and the Dockerfile also get the publisher where they name it.
    """
    v, owner = version(), publisher()
    rules: list[tuple[str, str]] = {
        "metadata.yaml": [
            (r"(?m)^(  dockerImageTag: ).*$", rf"\g<1>{v}"),
            (r"(?m)^(  dockerRepository: )[^/\n]+/", rf"\g<1>{owner}/"),
            (r"(?m)^(  documentationUrl: ).*$", rf"\g<1>{repository()}/blob/main/docs/airbyte.md"),
        ],
        "Dockerfile": [
            (r'(?m)^(LABEL io\.airbyte\.version=)".*"$', rf'\g<1>"{v}"'),
            (r'(?m)^(LABEL io\.airbyte\.name=)"[^/"]+/', rf'\g<1>"{owner}/'),
            # The image's name in the usage comments (`docker build -t OWNER/source-litmos:V`).
            (r"(?m)^(#.*\s)[\w.-]+/source-litmos:[\w.+-]+", rf"\g<1>{owner}/source-litmos:{v}"),
        ],
        "dbt_project.yml": [(r'(?m)^(version: )".*"$', rf'\g<1>"{v}"')],
    }[path.name]
    for pattern, replacement in rules:
        document, found = re.subn(pattern, replacement, document)
        if found != 1 and not pattern.startswith("(?m)^(#"):  # comments: any number
            msg = f"{path.relative_to(ROOT)}: {pattern!r} matched {found} times"
            raise ValueError(msg)
    return document


def lineage(document: str) -> str | None:
    """docs/dbt.md with the lineage of `dbt parse`'s manifest, or None without dbt."""
    dbt = ROOT / ".meltano" / "utilities" / "dbt-duckdb" / "venv" / "bin" / "dbt"
    if not dbt.exists():
        return None
    with tempfile.TemporaryDirectory() as target:
        env = {
            **os.environ,
            "DBT_PROFILES_DIR": str(ROOT / "transform" / "profiles" / "duckdb"),
            "DBT_DUCKDB_PATH": str(Path(target) / "parse.duckdb"),  # parse connects to none
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
            "MELTANO_PROJECT_ROOT": str(ROOT),
        }
        parsed = subprocess.run(
            [
                str(dbt),
                "parse",
                "--quiet",
                "--project-dir",
                str(ROOT / "transform"),
                "--target-path",
                target,
                "--log-path",
                target,
            ],
            check=False,
            env=env,
            capture_output=True,
            text=True,
        )
        if parsed.returncode:
            print(f"dbt parse failed, lineage left as it is:\n{parsed.stdout[-2000:]}")
            return None
        manifest = json.loads((Path(target) / "manifest.json").read_text())
    return dbt_lineage.with_diagram(document, dbt_lineage.diagram(manifest))


# --- the command ------------------------------------------------------------------------


def artefacts(*, dbt: bool = True) -> dict[Path, Callable[[str], str | None]]:
    """Each generated file and how to make its new text from its current one."""
    catalog_text = tap_output("--discover")
    catalog = json.loads(catalog_text)
    about = json.loads(tap_output("--about", "--format=json"))
    settings = settings_table(tap_output("--about", "--format=markdown"))

    def readme(document: str) -> str:
        document = between(document, "streams", streams_table(catalog))
        return between(document, "settings", settings)

    return {
        ROOT / "catalog.json": lambda _: catalog_text,
        ROOT / "README.md": readme,
        SANDBOX_README: lambda document: between(document, "endpoints", endpoint_table()),
        PLUGIN_FILE: lambda _: plugin_file(about),
        MAINTAINER_FILE: lambda _: maintainer_file(),
        ROOT / "meltano.yml": meltano_yml,
        ROOT / "metadata.yaml": lambda d: with_versions(ROOT / "metadata.yaml", d),
        ROOT / "Dockerfile": lambda d: with_versions(ROOT / "Dockerfile", d),
        ROOT / "transform" / "dbt_project.yml": lambda d: with_versions(
            ROOT / "transform" / "dbt_project.yml", d
        ),
        ROOT / "docs" / "dbt.md": lineage if dbt else lambda _: None,
        ROOT / "docs" / "airbyte.md": lambda d: between(d, "sync-modes", sync_modes_table()),
        MANIFEST_FILE: lambda _: airbyte_manifest.manifest_text(),
        MANIFEST_FILE.parent / "litmos.md": lambda d: between(
            d, "streams", airbyte_manifest.streams_table()
        ),
    }


def drifted(*, dbt: bool = True) -> dict[Path, str]:
    """The generated files whose text differs from what the code says, with that text."""
    changes = {}
    for path, make in artefacts(dbt=dbt).items():
        current = path.read_text() if path.exists() else ""
        wanted = make(current)
        if wanted is not None and wanted != current:
            changes[path] = wanted
    return changes


def main() -> int:
    """Rewrite the drifted artefacts, or (--check) name them and exit 1."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="report drift, write nothing")
    parser.add_argument(
        "--no-dbt", action="store_true", help="leave the dbt lineage (tests/test_dbt.py checks it)"
    )
    args = parser.parse_args()
    changes = drifted(dbt=not args.no_dbt)
    names = [str(p.relative_to(ROOT)) if ROOT in p.parents else str(p) for p in changes]
    if args.check:
        if changes:
            print(f"Drifted from the code ({COMMAND} rewrites them): {', '.join(names)}")
            return 1
        print("Every generated artefact is current.")
        return 0
    for path, text in changes.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    print(f"Rewrote {', '.join(names)}" if names else "Every generated artefact is current.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
