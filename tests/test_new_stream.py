"""Adding a stream is what docs/development.md says it is, and nothing more.

In a temporary copy of the repository, a throwaway `/org/*` link stream is added by the
documented steps only: its class in a streams module, its `STREAM_TYPES` entry, the
sandbox's endpoint spec and the generation of its rows in the sandbox's world. Then
`python3 scripts/regenerate.py` runs there, and the copy's catalog, README tables, select
lists, plugin files and contract tests must all have picked the stream up, with no other
edit: the files that differ from this checkout are exactly those the steps and the
command touched.

The edits are made at named places in the copy's source (`ANCHORS`): if the tap's or the
sandbox's layout moves, they say which anchor is gone, and the checklist in
docs/development.md moves with them.
"""

from __future__ import annotations

import filecmp
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import litmos_sandbox
import litmos_sandbox.spec
import litmos_sandbox.world
import tap_litmos.streams
from tap_litmos.streams import STREAM_TYPES

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parent.parent
NAME = "throwaway_links"

#: Step 1, the class: a link row between courses and teams, in a module of its own.
STREAM_MODULE = '''\
"""A stream added by tests/test_new_stream.py, the documented way."""

from __future__ import annotations

from tap_litmos.patterns import DateWindowStream
from tap_litmos.streams.fields import INT, LINK, TEXT, schema


class ThrowawayLinksStream(DateWindowStream):
    """`GET /org/throwaway/links`: teams linked to (or unlinked from) courses."""

    name = "throwaway_links"
    path = "/org/throwaway/links"
    wrappers = ("ThrowawayLinks", "ThrowawayLink")
    primary_keys = ("CourseId", "Id")
    schema = schema(CourseId=TEXT, Id=TEXT, OriginalCourseId=INT, OriginalTeamId=INT, **LINK)
'''
#: Step 3, the sandbox's endpoint spec (written as the sandbox writes its /org/* links).
SPEC = """\
THROWAWAY_LINKS = _org(
    "throwaway_links",
    "/org/throwaway/links",
    "ThrowawayLinks",
    "ThrowawayLink",
    _link(("CourseId", C), ("Id", T)),
    ("CourseId", "Id"),
    note="Added by tests/test_new_stream.py.",
)

"""
#: Step 4, its rows in the world: links between existing courses and teams, changed over
#: the year before the anchor (its own random stream: the rest of the world is unchanged).
GENERATION = """\
    def _gen_throwaway_links(self, seed: int, anchor_ms: int) -> None:
        rng = random.Random(f"throwaway-links-{seed}")
        courses = sorted(self.tables["courses"].rows)
        teams = sorted(self.tables["teams"].rows)
        pairs = sorted({(rng.choice(courses), rng.choice(teams)) for _ in range(15)})
        rows = []
        for course, team in pairs:
            updated = self._stamp(rng, anchor_ms, [])
            created = updated - int(rng.random() * 30 * 86_400_000)
            rows.append(
                self.row(
                    "throwaway_links",
                    {
                        "CourseId": course,
                        "Id": team,
                        "Active": rng.random() > 0.2,
                        "CreatedDate": ms_dt(created),
                        "UpdatedDate": ms_dt(updated),
                        "CreatedBy": self._owner,
                        "UpdatedBy": self._owner,
                    },
                )
            )
        self.tables["throwaway_links"].load(rows)

"""
#: Where each step writes in the copy: (file, anchor pattern, text, where: before/after).
ANCHORS = {
    "STREAM_TYPES import": (
        tap_litmos.streams.__file__,
        r"^from tap_litmos\.streams\.users import .*\n",
        "from tap_litmos.streams.throwaway import ThrowawayLinksStream\n",
        "after",
    ),
    "STREAM_TYPES entry": (
        tap_litmos.streams.__file__,
        r"^STREAM_TYPES\b[^\n]*[\[(]\n(?:    .*\n)*?(?=[\])])",
        "    ThrowawayLinksStream,\n",
        "after",
    ),
    "sandbox spec": (
        litmos_sandbox.spec.__file__,
        r"^#: Every served endpoint spec.*\n",
        SPEC,
        "before",
    ),
    "ENDPOINTS entry": (
        litmos_sandbox.spec.__file__,
        r"^ENDPOINTS\b.*\n(?:.*\n)*?\s+for e in \(\n",
        "        THROWAWAY_LINKS,\n",
        "after",
    ),
    "world generation": (
        litmos_sandbox.world.__file__,
        r"^    @classmethod\n    def generate\(",
        GENERATION,
        "before",
    ),
    "world generation call": (
        litmos_sandbox.world.__file__,
        r"^        w\._gen_org\(.*\)\n",
        "        w._gen_throwaway_links(seed, anchor_ms)\n",
        "after",
    ),
}


def copy_of_the_repository(target: Path) -> Path:
    """The checkout as it is on disk (uncommitted changes too), without ignored files."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            (target / name).write_bytes(source.read_bytes())
    return target


def in_copy(copy: Path, module_file: str) -> Path:
    return copy / Path(module_file).resolve().relative_to(ROOT)


def add_the_stream(copy: Path) -> None:
    """Steps 1 to 4 of docs/development.md's "Adding a stream", in the copy."""
    streams_dir = in_copy(copy, tap_litmos.streams.__file__).parent
    (streams_dir / "throwaway.py").write_text(STREAM_MODULE)
    for step, (module_file, anchor, text, where) in ANCHORS.items():
        path = in_copy(copy, module_file)
        source = path.read_text()
        match = re.search(anchor, source, re.MULTILINE)
        assert match, f"{step}: no {anchor!r} in {path.relative_to(copy)} (layout changed?)"
        at = match.end() if where == "after" else match.start()
        path.write_text(source[:at] + text + source[at:])


def differing_files(copy: Path) -> set[str]:
    """Files of the copy that are new or differ from this checkout."""
    changed = set()
    for path in copy.rglob("*"):
        if not path.is_file() or "__pycache__" in path.parts or ".pytest_cache" in path.parts:
            continue
        name = path.relative_to(copy)
        original = ROOT / name
        if not original.exists() or not filecmp.cmp(original, path, shallow=False):
            changed.add(name.as_posix())
    return changed


def run(copy: Path, *args: str, timeout: int = 900) -> subprocess.CompletedProcess[str]:
    """`python ARGS` in the copy, its packages imported before this checkout's."""
    sandbox_parent = in_copy(copy, litmos_sandbox.__file__).parent.parent
    path = [str(copy), str(sandbox_parent), os.environ.get("PYTHONPATH", "")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(dict.fromkeys(filter(None, path)))}
    return subprocess.run(
        [sys.executable, *args],
        cwd=copy,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_a_stream_added_the_documented_way_reaches_every_artefact(tmp_path: Path) -> None:
    copy = copy_of_the_repository(tmp_path / "repository")
    add_the_stream(copy)

    regenerated = run(copy, "scripts/regenerate.py")  # the copy has no .meltano/: no dbt
    assert regenerated.returncode == 0, regenerated.stderr[-3000:]
    checked = run(copy, "scripts/regenerate.py", "--check")
    assert checked.returncode == 0, checked.stdout + checked.stderr[-3000:]

    # The catalog: the new stream, incremental on UpdatedDate, selected by default.
    catalog = json.loads((copy / "catalog.json").read_text())
    (entry,) = [e for e in catalog["streams"] if e["tap_stream_id"] == NAME]
    assert entry["replication_key"] == "UpdatedDate"
    assert entry["key_properties"] == ["CourseId", "Id"]
    assert len(catalog["streams"]) == len(STREAM_TYPES) + 1

    # The README's streams table, with its count; the sandbox README's endpoint table.
    readme = (copy / "README.md").read_text()
    assert re.search(
        rf"^\| `{NAME}` \| `GET /org/throwaway/links`: [^|]+ \| 7-day windows, link rows "
        r"\| `CourseId, Id` \| `UpdatedDate` \|$",
        readme,
        re.MULTILINE,
    )
    defaults = sum(s.selected_by_default for s in STREAM_TYPES) + 1
    assert f"{len(STREAM_TYPES) + 1} streams: {defaults} selected by default" in readme
    sandbox_readme = in_copy(copy, litmos_sandbox.__file__).parent / "README.md"
    assert f"| `{NAME}` | `/org/throwaway/links` | ThrowawayLinks/ThrowawayLink |" in (
        sandbox_readme.read_text()
    )

    # docs/airbyte.md's streams by sync mode.
    airbyte = (copy / "docs" / "airbyte.md").read_text()
    assert re.search(
        rf"^\| [^|]*`{NAME}`[^|]* \| full refresh, incremental \| `UpdatedDate` \|$",
        airbyte,
        re.MULTILINE,
    )

    # The plugin files: the select lists of tap-litmos.yml and meltano.yml.
    plugin = yaml.safe_load((copy / "tap-litmos.yml").read_text())
    assert f"{NAME}.*" in plugin["select"]
    (extractor,) = yaml.safe_load((copy / "meltano.yml").read_text())["plugins"]["extractors"]
    assert extractor["select"] == plugin["select"]

    # The contract tests and the plugin file's checks, run in the copy, cover it.
    contract_file = "tests/tap_litmos/test_catalog_contract.py"
    contract = run(
        copy, "-m", "pytest", contract_file, "-k", f"{NAME} or every_endpoint", "-v", "-p",
        "no:cacheprovider",
    )  # fmt: skip
    assert contract.returncode == 0, contract.stdout[-5000:]
    passed = {line.split()[0] for line in contract.stdout.splitlines() if " PASSED" in line}
    # Every per-stream contract test ran for it, as many as for another link stream.
    collected = run(copy, "-m", "pytest", contract_file, "--co", "-q", "-p", "no:cacheprovider")
    per_stream = [i for i in collected.stdout.split() if re.search(r"[\[-]course_modules\b", i)]
    assert per_stream
    assert len([i for i in passed if NAME in i]) == len(per_stream), contract.stdout[-3000:]
    checks = run(
        copy,
        "-m",
        "pytest",
        "tests/test_plugin_file.py",
        "tests/test_repository.py",
        "-k",
        "not a_new_meltano_project",
        "-q",
        "-p",
        "no:cacheprovider",
    )
    assert checks.returncode == 0, checks.stdout[-5000:]

    # What the steps and the command touched: nothing else.
    streams = in_copy(copy, tap_litmos.streams.__file__).parent.relative_to(copy).as_posix()
    sandbox = in_copy(copy, litmos_sandbox.__file__).parent.relative_to(copy).as_posix()
    assert differing_files(copy) == {
        f"{streams}/throwaway.py",  # step 1
        f"{streams}/__init__.py",  # step 2
        f"{sandbox}/spec.py",  # step 3
        f"{sandbox}/world.py",  # step 4
        "catalog.json",  # the command
        "README.md",
        f"{sandbox}/README.md",
        "tap-litmos.yml",
        "meltano.yml",
        "docs/airbyte.md",
        "airbyte/manifest-only/manifest.yaml",  # the stream in the Airbyte manifest
        "airbyte/manifest-only/litmos.md",  # and in its page's streams table
    }
    manifest = yaml.safe_load((copy / "airbyte" / "manifest-only" / "manifest.yaml").read_text())
    (added,) = [s for s in manifest["streams"] if s["name"] == NAME]
    assert added["retriever"]["requester"]["path"] == "/org/throwaway/links"
    assert added["incremental_sync"]["cursor_field"] == "UpdatedDate"
