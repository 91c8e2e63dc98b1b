"""The README and the pages under docs/: every relative link resolves.

A link to a file or folder must exist in the repository, and a `#fragment` must name a
heading of the page it points to (GitHub's anchors: lower case, spaces to hyphens,
punctuation dropped).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# [text](target) outside code: inline links only, which is all these pages use.
LINK = re.compile(r"\[[^\]\n]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
CODE_SPAN = re.compile(r"`[^`\n]*`")
HEADING = re.compile(r"^#{1,6} +(.+?) *$", re.MULTILINE)


def prose(page: Path) -> str:
    """The page without code blocks and code spans (their brackets are not links)."""
    return CODE_SPAN.sub("", FENCE.sub("", page.read_text()))


def anchors(page: Path) -> set[str]:
    def slug(title: str) -> str:
        title = re.sub(r"[^\w\- ]", "", CODE_SPAN.sub(lambda m: m.group()[1:-1], title))
        return title.strip().lower().replace(" ", "-")

    return {slug(title) for title in HEADING.findall(FENCE.sub("", page.read_text()))}


def relative_links(page: Path) -> list[str]:
    return [
        target
        for target in LINK.findall(prose(page))
        if not re.match(r"[a-z][a-z0-9+.-]*:", target)  # http:, https:, mailto: ...
    ]


def test_the_docs_pages_exist_and_the_readme_links_each() -> None:
    readme_links = set(relative_links(ROOT / "README.md"))
    pages = [p for p in PAGES if p.parent.name == "docs"]
    assert len(pages) >= 10
    for page in pages:
        assert f"docs/{page.name}" in readme_links, f"README does not link {page.name}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(page: Path) -> None:
    broken = [target for target in relative_links(page) if not resolves(page, target)]
    assert not broken, f"{page.name}: links that lead nowhere: {broken}"


def resolves(page: Path, target: str) -> bool:
    path, _, fragment = target.partition("#")
    resolved = (page.parent / path).resolve() if path else page
    if not resolved.exists() or ROOT not in (resolved, *resolved.parents):
        return False  # nothing there, or outside the repository (a clone lacks it)
    return not fragment or resolved.suffix != ".md" or fragment in anchors(resolved)
