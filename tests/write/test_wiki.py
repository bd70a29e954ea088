"""Owned bullets, page skeletons and safe titles (companion/write/wiki.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from companion.markdown.parse import parse_note
from companion.write.regions import region_text
from companion.write.wiki import (
    CITATION,
    Line,
    RegionPlan,
    bullet_id,
    cite,
    cited_sources,
    edit_page,
    merge_bullets,
    new_page,
    region_lines,
    safe_title,
)

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
S1 = "wiki/sources/spec"
S2 = "wiki/sources/email"


def _of(source: str):  # type: ignore[no-untyped-def]
    def mine(line: Line) -> bool:
        return line.cites() == [source]

    return mine


def _page(facts: list[str], source: str = S1) -> str:
    return new_page(
        "wiki/entities/CardNet Gateway.md",
        (TEMPLATES / "entity.md").read_text(encoding="utf-8"),
        {"facts": [cite(f, [source]) for f in facts], "related": []},
        properties={"type": "entity"},
        lists={"aliases": [], "tags": [], "sources": [f"[[{source}]]"]},
        now=NOW,
    )


def test_a_citation_goes_before_the_full_stop_in_the_one_style() -> None:
    assert cite("It allows 500 requests per second.", [S1]) == (
        "It allows 500 requests per second ([[wiki/sources/spec]])."
    )
    assert cite("Is it retried?", [S1, S2]) == (
        "Is it retried ([[wiki/sources/spec]], [[wiki/sources/email]])?"
    )
    assert CITATION.search(cite("A | row | of cells", [S1]))


def test_a_new_page_has_no_template_placeholders_and_starts_at_version_one() -> None:
    text = _page(["It allows 500 requests per second."])
    note = parse_note(text.encode(), "wiki/entities/CardNet Gateway.md")
    assert note.properties["version"] == 1
    assert note.properties["sources"] == [f"[[{S1}]]"]
    assert note.properties["tags"] == []  # the template's example tag is not kept
    assert "example-source" not in text and "Example Concept" not in text
    assert "{{" not in text
    assert region_text(text, "related") == ""


def test_ingest_owns_a_bullet_only_while_it_is_byte_identical() -> None:
    text = _page(["It allows 500 requests per second.", "Bursts are not permitted."])
    content = region_text(text, "facts") or ""
    edited = content.replace("500 requests", "400 requests")  # a person's correction
    lines = region_lines(edited, "CardNet Gateway", "facts")
    assert [line.owned for line in lines] == [False, True]
    # Re-ingesting the same facts: the corrected one is not re-added, the person's text stays.
    merged = merge_bullets(
        edited,
        "CardNet Gateway",
        "facts",
        [cite("It allows 500 requests per second.", [S1]), cite("Bursts are not permitted.", [S1])],
        _of(S1),
    )
    assert merged == edited


def test_a_reingest_replaces_only_its_own_facts() -> None:
    text = _page(["Old fact from the spec."])
    text = (
        edit_page(
            "wiki/entities/CardNet Gateway.md",
            text,
            {"facts": RegionPlan((cite("A fact from the e-mail.", [S2]),), _of(S2))},
            now=NOW,
        )
        or ""
    )
    person = "- A person's own bullet, citing the spec ([[wiki/sources/spec]]).\n"
    content = region_text(text, "facts") or ""
    text = text.replace(content, content + person)
    new = edit_page(
        "wiki/entities/CardNet Gateway.md",
        text,
        {"facts": RegionPlan((cite("New fact from the spec.", [S1]),), _of(S1))},
        now=NOW,
    )
    assert new is not None
    facts = region_text(new, "facts") or ""
    assert "Old fact" not in facts
    assert "A fact from the e-mail" in facts
    assert person in facts  # a person's bullet is never removed, even when it cites the source
    assert "New fact from the spec" in facts
    note = parse_note(new.encode(), "x.md")
    assert note.properties["version"] == 3
    assert sorted(note.properties["sources"]) == sorted([f"[[{S1}]]", f"[[{S2}]]"])


def test_text_outside_regions_survives_byte_for_byte() -> None:
    text = _page(["Old fact from the spec."])
    text = text.replace(
        "Anything else you want to keep here (outside the markers).",
        "My notes: keep [[this]] link and %% this comment %%.",
    )
    new = edit_page(
        "wiki/entities/CardNet Gateway.md",
        text,
        {"facts": RegionPlan((cite("New fact.", [S1]),), _of(S1))},
        now=NOW,
    )
    assert new is not None
    outside_old = text.split("%% companion:end related %%")[1]
    outside_new = new.split("%% companion:end related %%")[1]
    assert outside_old == outside_new


def test_nothing_to_change_gives_none_and_no_version_bump() -> None:
    text = _page(["A fact."])
    plan = {"facts": RegionPlan((cite("A fact.", [S1]),), _of(S1))}
    assert edit_page("wiki/entities/CardNet Gateway.md", text, plan, now=NOW) is None


def test_withdrawing_a_source_removes_its_bullets_and_its_sources_item() -> None:
    text = _page(["A fact."])
    new = edit_page(
        "wiki/entities/CardNet Gateway.md", text, {"facts": RegionPlan((), _of(S1))}, now=NOW
    )
    assert new is not None
    assert (region_text(new, "facts") or "") == ""
    assert parse_note(new.encode(), "x.md").properties["sources"] in ([], None)


def test_a_region_whose_markers_a_person_removed_is_recreated_only_with_new_content() -> None:
    text = _page(["A fact."])
    start = text.index("%% companion:begin facts %%")
    end = text.index("%% companion:end facts %%") + len("%% companion:end facts %%\n")
    handed_over = text[:start] + "- A fact, now mine ([[wiki/sources/spec]]).\n" + text[end:]
    assert (
        edit_page(
            "wiki/entities/CardNet Gateway.md",
            handed_over,
            {"facts": RegionPlan((), _of(S1))},
            now=NOW,
        )
        is None
    )
    new = edit_page(
        "wiki/entities/CardNet Gateway.md",
        handed_over,
        {"facts": RegionPlan((cite("Another fact.", [S1]),), _of(S1))},
        now=NOW,
    )
    assert new is not None and new.rstrip().endswith("%% companion:end facts %%")
    assert "- A fact, now mine ([[wiki/sources/spec]]).\n" in new


def test_ids_depend_on_page_region_and_text() -> None:
    a = bullet_id("Page", "facts", "x")
    assert a == bullet_id("page", "facts", "x")  # page names are case-insensitive
    assert a != bullet_id("Other", "facts", "x")
    assert a != bullet_id("Page", "related", "x")
    assert a != bullet_id("Page", "facts", "y")


def test_cited_sources_reads_only_the_citation_style() -> None:
    body = "See [[wiki/sources/a]] here.\n- Fact ([[wiki/sources/b]], [[wiki/sources/c]]).\n"
    assert cited_sources(body) == ["wiki/sources/b", "wiki/sources/c"]


@pytest.mark.parametrize(
    ("name", "title"),
    [
        ("../../x", "-..-x"),
        ("CI/CD: what is it?", "CI-CD- what is it"),
        ("CON", "CON (page)"),
        ("nul.txt", "nul.txt (page)"),
        ("  .hidden name.  ", "hidden name"),
        ("[[CONFLICT]]", "CONFLICT"),
        ("a#b^c|d", "abcd"),
        ("***", None),
        ("", None),
    ],
)
def test_safe_titles_are_never_paths(name: str, title: str | None) -> None:
    assert safe_title(name) == title


def test_a_300_character_title_is_cut_under_100_at_a_word() -> None:
    title = safe_title("word " * 60)
    assert title is not None and len(title) < 100 and title.endswith("word")


def test_a_fact_a_person_already_states_in_their_words_is_not_added_again() -> None:
    person = (
        "- The ledger database, pg-ledger, was upgraded to PostgreSQL 15 on 2024-07-20 by "
        "logical replication ([[wiki/sources/spec]]).\n"
        "- [[wiki/concepts/Idempotency]]\n"
    )
    wanted = [
        cite(
            "The ledger database (pg-ledger) was upgraded to **PostgreSQL 15** on 2024-07-20 by "
            "logical replication, with 94 seconds of paused writes.",
            [S1],
        ),
        cite("The ledger posts about 4.1 million journal entries a day.", [S1]),
        cite("The ledger database was upgraded on 2024-07-20 by logical replication.", [S2]),
    ]
    merged = merge_bullets(person, "Ledger Service", "facts", wanted, _of(S1))
    added = merged[len(person) :]
    assert "94 seconds" not in added  # the person's bullet says it (same source, same words)
    assert "4.1 million" in added
    assert "wiki/sources/email" in added  # another source saying it is another citation
    links = merge_bullets(
        person,
        "Ledger Service",
        "related",
        ["[[wiki/concepts/Idempotency]]", "[[wiki/concepts/Idempotency Keys]]"],
        lambda _line: False,
    )
    assert links[len(person) :].count("\n") == 1 and "Idempotency Keys" in links[len(person) :]


def test_a_persons_rewording_stands_and_a_changed_number_is_another_claim() -> None:
    fact = cite("Each merchant account may submit at most 500 requests per second.", [S1])
    text = _page(["Each merchant account may submit at most 500 requests per second."])
    facts = region_text(text, "facts") or ""
    (written,) = [line.id for line in region_lines(facts, "CardNet Gateway", "facts")]
    assert written is not None
    mine = "- Each merchant account may submit at most 400 requests per second now ([[wiki/sources/spec]]).\n"
    edited = text.replace(facts, mine)  # reworded, its id removed: the person's bullet now
    # The store remembers ingest wrote that fact here and it is gone: the person's version stands.
    refused = {"facts": RegionPlan((fact,), _of(S1), frozenset({written}))}
    assert edit_page("wiki/entities/CardNet Gateway.md", edited, refused, now=NOW) is None
    # A fact with other numbers than the person's is another claim (a change in the source, or a
    # contradiction): it is written beside theirs, never hidden by it.
    changed = cite("Each merchant account may submit at most 600 requests per second.", [S1])
    new = edit_page(
        "wiki/entities/CardNet Gateway.md",
        edited,
        {"facts": RegionPlan((changed,), _of(S1))},
        now=NOW,
    )
    assert new is not None and "600 requests" in new and "400 requests" in new


def test_facts_left_outside_when_a_person_removed_the_markers_are_not_added_again() -> None:
    text = _page(["A fact from the spec.", "Another fact from the spec."])
    start = text.index("%% companion:begin facts %%\n")
    text = text.replace("%% companion:begin facts %%\n", "").replace(
        "%% companion:end facts %%\n", ""
    )
    assert start > 0 and "^i-" in text  # the bullets stay, now the person's
    new = edit_page(
        "wiki/entities/CardNet Gateway.md",
        text,
        {
            "facts": RegionPlan(
                (
                    cite("A fact from the spec.", [S1]),
                    cite("Another fact from the spec.", [S1]),
                    cite("A third fact.", [S1]),
                ),
                _of(S1),
            )
        },
        now=NOW,
    )
    assert new is not None
    assert new.count("A fact from the spec") == 1 and new.count("Another fact") == 1
    assert (region_text(new, "facts") or "").count("\n") == 1  # only the new fact, appended


def test_a_persons_note_under_a_withdrawn_fact_keeps_its_fact() -> None:
    text = _page(["The cluster has 5 brokers.", "The cluster runs in two zones."])
    facts = region_text(text, "facts") or ""
    first = facts.splitlines()[0]
    annotated = facts.replace(first, first + "\n  - Ravi: verified this in October.", 1)
    text = text.replace(facts, annotated)
    new = edit_page(
        "wiki/entities/CardNet Gateway.md",
        text,
        {
            "facts": RegionPlan(
                (
                    cite("The cluster has 6 brokers.", [S1]),
                    cite("The cluster runs in two zones.", [S1]),
                ),
                _of(S1),
            )
        },
        now=NOW,
    )
    assert new is not None
    lines = (region_text(new, "facts") or "").splitlines()
    at = lines.index("  - Ravi: verified this in October.")
    assert lines[at - 1].startswith("- The cluster has 5 brokers") and "^i-" not in lines[at - 1]
    assert any("6 brokers" in line for line in lines)
