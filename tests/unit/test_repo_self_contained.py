"""The repository stands on its own: no file points at the colleagues-only notes file, and every
``docs/protocol.md §N`` citation names a section that exists in docs/protocol.md.

The files checked are the tracked ones plus untracked files that git does not ignore, i.e. what a
fresh clone (or the next commit) would hold.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
PROTOCOL = REPO_ROOT / "docs" / "protocol.md"

# The notes file only the project's authors have. Built from two pieces so that this test file
# does not itself contain the name it forbids.
FORBIDDEN_NAME = "PAPER" + ".md"

_HEADING = re.compile(r"^#{2,6}\s+(\d+(?:\.\d+)*)\.?\s", re.MULTILINE)
# "docs/protocol.md §3", "docs/protocol.md §3.4, §4.6 and §5", "docs/protocol.md §3-§5"
_CITATION = re.compile(
    r"docs/protocol\.md`?((?:\s*(?:,|and|or|to|-|–)?\s*§\d+(?:\.\d+)*)+)"
)
_SECTION_NUMBER = re.compile(r"§(\d+(?:\.\d+)*)")


def section_numbers(markdown: str) -> set[str]:
    """Numbers of the numbered headings ("## 3. MNIST" -> "3", "### 3.4 Pixel" -> "3.4")."""
    return set(_HEADING.findall(markdown))


def cited_sections(text: str) -> list[str]:
    """Every section number cited as ``docs/protocol.md §N`` (several may follow one path)."""
    return [number for group in _CITATION.findall(text)
            for number in _SECTION_NUMBER.findall(group)]


def mentions_forbidden_name(text: str) -> bool:
    """Whether ``text`` names the notes file (case-insensitive: a lower-case copy counts too)."""
    return FORBIDDEN_NAME.lower() in text.lower()


def repo_text_files() -> dict[str, str]:
    """Path -> text of every tracked or untracked-but-not-ignored text file of the repository.

    Files that are not UTF-8 or hold a NUL byte (data, images) are left out, and so are paths
    listed by git but deleted from the working tree. Skips when git or the checkout is missing
    (e.g. an installed copy of the package).
    """
    git = shutil.which("git")
    if git is None or not (REPO_ROOT / ".git").exists():
        pytest.skip("not a git checkout: the repository's file list is unavailable")
    listing = subprocess.run(
        [git, "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=REPO_ROOT, capture_output=True, check=True,
    ).stdout.decode("utf-8")
    files = {}
    for name in sorted(set(filter(None, listing.split("\0")))):
        path = REPO_ROOT / name
        if not path.is_file():
            continue
        raw = path.read_bytes()
        if b"\0" in raw:
            continue
        try:
            files[name] = raw.decode("utf-8")
        except UnicodeDecodeError:
            continue
    return files


# --- the helpers, on small inputs -------------------------------------------------------------


def test_section_numbers_reads_numbered_headings_only():
    text = "# Title\n## 1. Blocks\n### 1.2 Boost\n## Notes\n#### 4.3.1 Deep\ntext 2. no\n"
    assert section_numbers(text) == {"1", "1.2", "4.3.1"}


def test_cited_sections_finds_lists_and_ranges():
    text = ("see docs/protocol.md §3.4, §4.6 and §5; also `docs/protocol.md` §6, "
            "docs/protocol.md §3-§5 and docs/protocol.md (no section) and §9 alone")
    assert cited_sections(text) == ["3.4", "4.6", "5", "6", "3", "5"]


def test_forbidden_name_matches_any_case():
    assert mentions_forbidden_name("facts in " + FORBIDDEN_NAME)
    assert mentions_forbidden_name("see " + FORBIDDEN_NAME.lower() + " section 3")
    assert not mentions_forbidden_name("config/paper.yaml and docs/protocol.md")


# --- the repository ---------------------------------------------------------------------------


def test_protocol_document_exists_and_cites_the_paper():
    text = PROTOCOL.read_text(encoding="utf-8")
    assert "arXiv:1903.11257" in text
    numbers = section_numbers(text)
    top = sorted(int(n) for n in numbers if "." not in n)
    assert top == list(range(1, len(top) + 1)), "top-level sections must be numbered 1, 2, ..."


def test_no_file_names_the_private_notes_file():
    offenders = sorted(name for name, text in repo_text_files().items()
                       if mentions_forbidden_name(text))
    assert not offenders, (
        f"{', '.join(offenders)}: cite docs/protocol.md (the repository's own protocol) "
        f"instead of {FORBIDDEN_NAME}, which users never have"
    )


def test_every_protocol_citation_points_at_an_existing_section():
    known = section_numbers(PROTOCOL.read_text(encoding="utf-8"))
    broken = [
        f"{name}: §{number}"
        for name, text in repo_text_files().items()
        for number in cited_sections(text)
        if number not in known
    ]
    assert not broken, f"citations of missing docs/protocol.md sections: {', '.join(broken)}"
