"""SYSTEM.md's settings (companion/config.py): folders that make sense together, ingest rules."""

from __future__ import annotations

import pytest

from companion.config import default_system_md, parse_schema
from companion.errors import ConfigError

DEFAULT = default_system_md()


def _with(old: str, new: str) -> str:
    assert old in DEFAULT
    return DEFAULT.replace(old, new)


def test_the_default_schema_has_the_default_ingest_rules() -> None:
    rules = parse_schema(DEFAULT, "SYSTEM.md").ingest
    assert ".pdf" in rules.formats and ".md" in rules.formats
    assert rules.max_source_bytes == 52428800 and rules.source_settle == 5.0
    assert rules.synthesizer == "extractive"


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("sources_folder: sources", "sources_folder: wiki", "overlap"),
        ("sources_folder: sources", "sources_folder: wiki/raw", "overlap"),
        ("sources_folder: sources", 'sources_folder: ""', "plain path"),
        ("sources_folder: sources", "sources_folder: ../outside", "plain path"),
        ("{folder: wiki/sources,", "{folder: people,", "outside the managed folders"),
        ("  max_source_bytes: 52428800", "  max_source_bytes: -1", "positive number of bytes"),
        ("  synthesizer: extractive", "  synthesizer: gpt", "extractive or llm"),
        ("  source_settle: 5", "  source_settle: 5\n  colour: blue", "unknown `ingest` setting"),
    ],
)
def test_settings_that_would_write_in_the_wrong_place_are_refused(
    old: str, new: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_schema(_with(old, new), "SYSTEM.md")


def test_ingest_formats_are_suffixes_whatever_their_spelling() -> None:
    text = _with("  formats: [md, markdown, txt, html, htm, pdf]", "  formats: [MD, .txt]")
    assert parse_schema(text, "SYSTEM.md").ingest.formats == (".md", ".txt")
