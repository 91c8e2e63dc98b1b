"""Every citation in the repository leads somewhere inside it.

- The code and the docs cite the project's account of the Litmos API by section:
  `docs/litmos-api.md §4`, `§6.4`, `§3.2-3.4`, `§9 item 7`, `§4 "Ordering guarantees"`. Each
  such citation, in any file of the repository, must name a section heading of that page, an
  item of the numbered list in that section, and a phrase that section contains.
- No file points outside the repository (a clone has nothing there): not to the folder of
  research notes that sat beside the first checkout, not to an absolute path of the machine
  it was written on. And every Markdown file a file names, as a path, in a code span or as a
  relative link, is a file of the repository.

The files are those git knows: tracked, plus new ones not ignored, except this one, whose
examples of bad citations are meant to fail. A failure names the file and the line of each.
"""

from __future__ import annotations

import functools
import os
import re
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parent.parent
API_PAGE = "docs/litmos-api.md"
SELF = "tests/test_citations.py"

# "§6.4", "§3.2-3.4", "§9 item 7", '§4 "Ordering guarantees"' (the phrase on the same line).
CITATION = re.compile(
    r"§\s?(?P<first>\d+(?:\.\d+)?)"
    r"(?:\s?[-\u2013]\s?(?P<last>\d+(?:\.\d+)?))?"
    r"(?:\s+item\s+(?P<item>\d+))?"
    r"(?:\s+\"(?P<phrase>[^\"\n]+)\")?"
)
HEADING = re.compile(r"^(?P<level>#{2,6})\s+(?P<number>\d+(?:\.\d+)*)\.?\s", re.MULTILINE)
LIST_ITEM = re.compile(r"^(\d+)\.\s", re.MULTILINE)

# Paths that lead out of a clone.
OUTSIDE = {
    "the research notes' folder beside the checkout": re.compile(r"(?<![\w./-])(?:\.\./)*shared/"),
    "an absolute path of the machine it was written on": re.compile(r"(?<![\w.])/work/"),
}
URL = re.compile(r"[a-z][a-z0-9+.-]*://\S+", re.IGNORECASE)
# Markdown file names: in a code span, as a relative link target, or as a path with a folder.
MD_IN_CODE = re.compile(r"`(?P<name>[^`\s]+\.md)(?:#[^`\s]*)?`")
MD_LINK = re.compile(r"\]\((?P<name>[^)\s#]+\.md)(?:#[^)\s]*)?\)")
MD_PATH = re.compile(r"(?<![\w./@-])(?P<name>(?:\.{1,2}/)*[\w.-]+(?:/[\w.-]+)+\.md)(?![\w/-])")


@functools.cache
def repository_files() -> tuple[str, ...]:
    """The repository's files, relative to its root: tracked, plus new ones not ignored."""
    try:
        listing = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout: the repository's files are unknown")
    return tuple(sorted(name for name in listing.decode().split("\0") if name))


def text_files() -> list[tuple[str, list[str]]]:
    """(path, lines) of every repository file that is text and present."""
    out = []
    for name in repository_files():
        path = ROOT / name
        if name == SELF or not path.is_file():
            continue  # deleted, not yet staged
        try:
            out.append((name, path.read_text(encoding="utf-8").splitlines()))
        except UnicodeDecodeError:
            continue  # binary
    return out


@functools.cache
def api_sections() -> dict[str, str]:
    """Section number -> its text (up to the next heading of its level or above)."""
    text = (ROOT / API_PAGE).read_text(encoding="utf-8")
    headings = list(HEADING.finditer(text))
    all_heads = list(re.finditer(r"^(#{1,6})\s", text, re.MULTILINE))
    sections = {}
    for head in headings:
        level = len(head["level"])
        end = next(
            (h.start() for h in all_heads if h.start() > head.start() and len(h[1]) <= level),
            len(text),
        )
        sections[head["number"]] = text[head.start() : end]
    return sections


def citation_problem(match: re.Match[str]) -> str | None:
    """What is wrong with one `§` citation, or None."""
    sections = api_sections()
    numbers = [match["first"], *([match["last"]] if match["last"] else [])]
    for number in numbers:
        if number not in sections:
            return f"{API_PAGE} has no section {number}"
    body = sections[match["first"]]
    if match["item"] and match["item"] not in LIST_ITEM.findall(body):
        return f"section {match['first']} of {API_PAGE} has no item {match['item']}"
    if match["phrase"]:
        flat = " ".join(body.split()).lower()
        if " ".join(match["phrase"].split()).lower() not in flat:
            return f"section {match['first']} of {API_PAGE} does not say {match['phrase']!r}"
    return None


def test_the_api_page_has_the_sections_the_code_was_written_against() -> None:
    sections = api_sections()
    expected = {str(n) for n in range(1, 10)} | {"3.1", "3.2", "3.3", "3.4", "5.1", "5.2"}
    expected |= {f"6.{n}" for n in range(1, 11)}
    assert expected <= sections.keys(), f"{API_PAGE} lacks {sorted(expected - sections.keys())}"
    assert "## Project decision: how tap-litmos reads Litmos dates" in (ROOT / API_PAGE).read_text(
        encoding="utf-8"
    )


def test_every_section_citation_names_a_section_of_the_api_page() -> None:
    bad = [
        f"{name}:{number}: {match.group().strip()!r}: {problem}"
        for name, lines in text_files()
        for number, line in enumerate(lines, 1)
        for match in CITATION.finditer(line)
        if (problem := citation_problem(match))
    ]
    assert not bad, "citations that lead nowhere:\n" + "\n".join(bad)


def test_no_file_points_outside_the_repository() -> None:
    bad = [
        f"{name}:{number}: {found.group()!r} is {what}"
        for name, lines in text_files()
        for number, line in enumerate(lines, 1)
        for what, pattern in OUTSIDE.items()
        if (found := pattern.search(line))
    ]
    assert not bad, "pointers outside the repository:\n" + "\n".join(bad)


def markdown_names(line: str) -> set[str]:
    """The Markdown file names a line mentions (URLs left out)."""
    line = URL.sub(" ", line)
    names = {
        m["name"] for pattern in (MD_IN_CODE, MD_LINK, MD_PATH) for m in pattern.finditer(line)
    }
    return {n for n in names if not set(n) & set("*?[]{}<>$")}  # globs and templates


def names_a_repository_file(citing: str, name: str) -> bool:
    files = set(repository_files())
    here = os.path.dirname(citing)  # noqa: PTH120 (posix paths as git writes them)
    candidates = {os.path.normpath(os.path.join(here, name)), os.path.normpath(name)}  # noqa: PTH118
    if any(c in files for c in candidates if not c.startswith("..")):
        return True
    # A bare file name ("doctor.md") may name a page by its file name alone.
    return "/" not in name and any(f.rsplit("/", 1)[-1] == name for f in files)


def test_every_markdown_file_named_is_in_the_repository() -> None:
    bad = [
        f"{name}:{number}: names {md!r}, which is not a file of the repository"
        for name, lines in text_files()
        for number, line in enumerate(lines, 1)
        for md in sorted(markdown_names(line))
        if not names_a_repository_file(name, md)
    ]
    assert not bad, "Markdown files that do not exist:\n" + "\n".join(bad)


@pytest.mark.parametrize(
    ("cited", "problem"),
    [
        ("§6.4", None),
        ("§3.2-3.4", None),
        ("§9 item 7", None),
        ('§4 "Ordering guarantees"', None),
        ("§12", f"{API_PAGE} has no section 12"),
        ("§3.1-3.9", f"{API_PAGE} has no section 3.9"),
        ("§9 item 40", f"section 9 of {API_PAGE} has no item 40"),
        ('§7 "no such phrase"', f"section 7 of {API_PAGE} does not say 'no such phrase'"),
    ],
)
def test_a_citation_is_checked_for_section_item_and_phrase(cited: str, problem: str | None) -> None:
    match = CITATION.search(cited)
    assert match is not None
    assert citation_problem(match) == problem


def test_outside_paths_and_missing_markdown_files_are_recognised() -> None:
    outside = ["see ../shared/litmos-api.md", "/work/shared/notes.md", "shared/x.md"]
    for line in outside:
        assert any(p.search(line) for p in OUTSIDE.values()), line
    inside = ["tests/shared_data/x.py", "a shared budget", "docs/dbt.md"]
    for line in inside:
        assert not any(p.search(line) for p in OUTSIDE.values()), line
    assert markdown_names("see `docs/gone.md` and [x](missing.md#top)") == {
        "docs/gone.md",
        "missing.md",
    }
    assert markdown_names("https://github.com/o/r/blob/main/CLAUDE.md docs/*.md") == set()
    assert not names_a_repository_file("docs/dates.md", "gone.md")
    assert names_a_repository_file("docs/dates.md", "litmos-api.md")
    assert names_a_repository_file("docs/dates.md", "../README.md")
    assert names_a_repository_file("tap_litmos/client.py", API_PAGE)
