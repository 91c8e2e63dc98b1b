"""The dbt project's lineage as a Mermaid diagram, drawn from dbt's manifest.json.

    python3 scripts/dbt_lineage.py MANIFEST            # print the diagram
    python3 scripts/dbt_lineage.py MANIFEST --write    # put it into docs/dbt.md

Any dbt command writes the manifest into its target path, for example
`meltano invoke dbt-duckdb:docs-generate` (output/dbt/duckdb/manifest.json). The diagram
has the sources, staging, intermediate and mart models as four columns, and an edge for
every `source()` and `ref()` of a model; tests are left out. docs/dbt.md holds it between
the markers below, and tests/test_dbt.py checks it against the manifest of its own run.
`python3 scripts/regenerate.py` writes it from `dbt parse`'s manifest when dbt is installed.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "dbt.md"
START, END = "<!-- lineage:start -->", "<!-- lineage:end -->"
LAYERS = (
    ("sources", "Raw tables (schema litmos)"),
    ("staging", "Staging (one model per stream)"),
    ("intermediate", "Intermediate"),
    ("marts", "Marts"),
)


def layer(node: dict) -> str:
    """Which column a source or model belongs in (by the model's folder)."""
    if node["resource_type"] == "source":
        return "sources"
    folder = Path(node["original_file_path"]).parts
    return next((name for name, _ in LAYERS if name in folder), "staging")


def node_id(unique_id: str) -> str:
    """A Mermaid-safe id: `source.litmos.litmos.users` -> `source_users`."""
    kind, *_, name = unique_id.split(".")
    return f"{kind}_{name}"


def diagram(manifest: dict) -> str:
    """The Mermaid flowchart of the project's sources and models (a fenced block)."""
    nodes = {
        uid: node
        for uid, node in {**manifest["sources"], **manifest["nodes"]}.items()
        if node["resource_type"] in ("source", "model") and node["package_name"] == "litmos"
    }
    lines = ["```mermaid", "flowchart LR"]
    for name, title in LAYERS:
        members = sorted(uid for uid, node in nodes.items() if layer(node) == name)
        if not members:
            continue
        lines.append(f'  subgraph {name}["{title}"]')
        lines.append("    direction TB")
        lines.extend(f'    {node_id(uid)}["{nodes[uid]["name"]}"]' for uid in members)
        lines.append("  end")
    edges = sorted(
        (node_id(parent), node_id(uid))
        for uid, node in nodes.items()
        if node["resource_type"] == "model"
        for parent in node["depends_on"]["nodes"]
        if parent in nodes
    )
    lines.extend(f"  {parent} --> {child}" for parent, child in edges)
    lines.append("```")
    return "\n".join(lines)


def with_diagram(document: str, mermaid: str) -> str:
    """`document` with the text between the lineage markers replaced by `mermaid`."""
    head, rest = document.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{mermaid}\n{END}{tail}"


def main() -> int:
    """Print the diagram, or write it into docs/dbt.md."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("manifest", type=Path, help="dbt's target/manifest.json")
    parser.add_argument("--write", action="store_true", help=f"update {DOC.relative_to(ROOT)}")
    args = parser.parse_args()
    mermaid = diagram(json.loads(args.manifest.read_text()))
    if args.write:
        DOC.write_text(with_diagram(DOC.read_text(), mermaid))
        print(f"wrote the lineage into {DOC.relative_to(ROOT)}")
    else:
        print(mermaid)
    return 0


if __name__ == "__main__":
    sys.exit(main())
