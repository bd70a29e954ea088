"""The file names MCP `add_source` gives new sources (write/sources.py)."""

from __future__ import annotations

import pytest

from companion.errors import SourceError
from companion.write.sources import free_name, safe_source_name


@pytest.mark.parametrize(
    ("given", "made"),
    [
        ("notes.md", "notes.md"),
        ("../../etc/passwd", "passwd.md"),
        ("C:\\\\Users\\\\me\\\\spec.TXT", "spec.txt"),
        ("what? #1 [draft].md", "what 1 draft.md"),
        ("-rf notes", "rf notes.md"),
        ("CON", "CON (source).md"),
        ("nul.tar.md", "nul.tar (source).md"),
        ("evil\u202egnp.md", "evilgnp.md"),
    ],
)
def test_a_given_name_becomes_a_safe_file_name(given: str, made: str) -> None:
    assert safe_source_name(given) == made


def test_a_name_with_nothing_usable_is_refused() -> None:
    with pytest.raises(SourceError, match="no usable file name"):
        safe_source_name("../...")


def test_a_taken_name_gets_a_number_and_case_counts_as_taken() -> None:
    existing = {"notes.md", "notes (2).md"}
    assert free_name("Notes.md", lambda n: n.casefold() in existing) == "Notes (3).md"
