"""lint's checks, one kind at a time, on hand-made index rows and page texts (pure: no files)."""

from __future__ import annotations

from typing import Any

from companion.config import default_system_md, parse_schema
from companion.lint.checks import Finding, Link, LintInput, Note, counts, lint

SCHEMA = parse_schema(default_system_md(), "default SYSTEM.md")
ENTITY = "wiki/entities/Kestrel Broker.md"
FULL = {"type": "entity", "version": 3, "aliases": [], "tags": [], "sources": [], "updated": "x"}


def note(
    path: str,
    props: dict[str, Any] | None = None,
    aliases: tuple[str, ...] = (),
    kind: str = "note",
) -> Note:
    props = props if props is not None else {}
    title = path.rpartition("/")[2].removesuffix(".md")
    return Note(path, kind, title, props.get("type"), props.get("version"), props, aliases)


def link(
    source: str, path: str, target: str | None, line: int = 3, ambiguous: bool = False
) -> Link:
    return Link(source, f"[[{path}]]", path, None, "wikilink", line, target, ambiguous)


def run(
    notes: list[Note], links: list[Link] | None = None, texts: dict[str, str] | None = None
) -> list[Finding]:
    return lint(LintInput(SCHEMA, notes, links or [], texts or {}))


def kinds(found: list[Finding], kind: str) -> list[Finding]:
    return [f for f in found if f.kind == kind]


def test_a_broken_link_names_the_note_a_close_spelling_or_alias_meant() -> None:
    notes = [note("a.md"), note("Payout Scheduler.md", aliases=("Payouts",)), note("b.md")]
    found = run(
        notes,
        [
            link("a.md", "Payout Sheduler", None),  # a typo
            link("a.md", "Payouts", None),  # an alias never resolves a link
            link("a.md", "Nowhere At All", None),
            link("a.md", "b", "b.md"),
        ],
    )
    broken = kinds(found, "broken-link")
    fixes = {f.message.split(" resolves")[0]: f.fix for f in broken}
    assert fixes == {
        "[[Payout Sheduler]]": "[[Payout Scheduler|Payout Sheduler]]",
        "[[Payouts]]": "[[Payout Scheduler|Payouts]]",
        "[[Nowhere At All]]": None,
    }
    assert all(not f.fixable for f in broken)  # which note was meant is a person's call


def test_a_name_linked_from_three_notes_is_a_missing_page_once() -> None:
    notes = [note(f"n{i}.md") for i in range(3)]
    found = run(notes, [link(f"n{i}.md", "Harbour Crane", None) for i in range(3)])
    assert [f.message.split(",")[0] for f in kinds(found, "missing-page")] == [
        "3 notes link [[Harbour Crane]]"
    ]
    assert kinds(found, "broken-link") == []
    two = run(notes[:2], [link(f"n{i}.md", "Harbour Crane", None) for i in range(2)])
    assert len(kinds(two, "broken-link")) == 2 and kinds(two, "missing-page") == []


def test_orphans_are_the_ones_the_index_gives() -> None:
    notes = [note("a.md"), note("lonely.md")]
    found = lint(LintInput(SCHEMA, notes, [], {}, ["lonely.md"]))
    assert [(f.path, f.kind) for f in found] == [("lonely.md", "orphan")]


def test_schema_drift_type_folder_and_required_properties() -> None:
    notes = [
        note(ENTITY, FULL),
        note("wiki/entities/No Type.md", {k: v for k, v in FULL.items() if k != "type"}),
        note("wiki/concepts/Wrong.md", {**FULL, "type": "entity"}),
        note("wiki/entities/Thin.md", {"type": "entity", "version": 1}),
        note("wiki/Loose.md", FULL),
        note("people/Ann.md", {}),  # a person's note: no schema
    ]
    found = {(f.path, f.message.split(";")[0].split(" (")[0]) for f in kinds(run(notes), "schema")}
    assert found == {
        ("wiki/entities/No Type.md", "no `type` property"),
        (
            "wiki/concepts/Wrong.md",
            "`type: entity` but the page is in wiki/concepts/, which holds `concept` pages",
        ),
        ("wiki/entities/Thin.md", "missing required `aliases`, `tags`, `sources`, `updated`"),
        ("wiki/Loose.md", "not in a page type's folder"),
    }


PAGE = """---
type: entity
version: 3
sources:
  - "[[wiki/sources/a]]"
  - "[[wiki/sources/old]]"
---
Intro a person wrote.

## Facts
%% companion:begin facts %%
- The broker keeps messages for 9 days ([[wiki/sources/a]]). ^i-1
- The broker runs on three hosts ([[wiki/sources/a|the spec]], [[wiki/sources/b#Hosts]]).
- The broker was moved to the east hall (see [[wiki/sources/b]] for why).
- The broker has no cited source for this claim at all.
- [[wiki/entities/Other Thing]]
%% companion:end facts %%

```
- a code line that is no fact at all
```

## Notes
- my own remark without any citation here
"""


def _page_findings() -> list[Finding]:
    props = {**FULL, "sources": ["[[wiki/sources/a]]", "[[wiki/sources/old]]"]}
    return run([note(ENTITY, props)], texts={ENTITY: PAGE})


def test_citations_not_in_the_one_form_are_found_and_only_link_only_ones_fixed() -> None:
    found = kinds(_page_findings(), "citation-format")
    assert [(f.line, f.fixable) for f in found] == [(13, True), (14, False)]
    assert found[0].fix == (
        "- The broker runs on three hosts ([[wiki/sources/a]], [[wiki/sources/b]])."
    )


def test_an_uncited_list_item_is_a_finding_but_not_a_link_list_code_or_a_notes_remark() -> None:
    found = kinds(_page_findings(), "uncited-fact")
    assert [f.line for f in found] == [15]


def test_the_sources_property_must_equal_the_citations() -> None:
    (found,) = kinds(_page_findings(), "sources-mismatch")
    # Only a citation in the §6 form counts (as for ingest): line 14's is a citation-format
    # finding, so [[wiki/sources/b]] is not cited yet.
    assert found.message.endswith("lists but does not cite [[wiki/sources/old]]")
    assert found.fixable and found.fix == '["wiki/sources/a"]'


def test_a_superseded_fact_still_stated_on_another_page_is_stale() -> None:
    fact = "- The yard crane lifts 40 tonnes ([[wiki/sources/a]]). ^i-2"
    marked = (
        "> [!superseded] Yard crane: lifts\n"
        "> superseded 2025-05-01: the second fact replaces the first\n"
        f"> {fact.split(' ^')[0]}\n"
        "> - The yard crane lifts 55 tonnes ([[wiki/sources/b]]).\n\n"
        "^superseded-abc123\n"
    )
    texts = {
        "wiki/entities/Crane.md": f"---\ntype: entity\n---\n{marked}\n",
        "wiki/entities/Yard.md": f"---\ntype: entity\n---\n{fact}\n",
    }
    notes = [note(p, FULL) for p in texts]
    found = kinds(run(notes, texts=texts), "stale")
    assert [(f.path, f.line) for f in found] == [("wiki/entities/Yard.md", 4)]


def test_a_wiki_page_with_another_notes_name_or_alias_is_a_duplicate() -> None:
    notes = [
        note("wiki/entities/Kafka.md", FULL),
        note("data/Kafka Event Bus.md", {}, aliases=("Kafka",)),
        note("wiki/entities/Ledger.md", FULL, aliases=("books",)),
        note("people/Overview.md"),
        note("teams/Overview.md"),  # people's notes: their business
    ]
    found = kinds(run(notes), "duplicate")
    assert [(f.path, f.message.split(" also")[0]) for f in found] == [
        ("wiki/entities/Kafka.md", "`Kafka`")
    ]


def test_open_conflicts_and_names_obsidian_refuses() -> None:
    text = "---\ntype: entity\n---\n> [!conflict] Kestrel: retention\n> [[CONFLICT]]\n^conflict-abc123\n"
    notes = [note(ENTITY, FULL), note("notes/what?.md"), note("odd|folder/x.md")]
    found = run(notes, texts={ENTITY: text})
    assert [(f.path, f.line) for f in kinds(found, "open-conflict")] == [(ENTITY, 4)]
    assert sorted(f.path for f in kinds(found, "bad-name")) == ["notes/what?.md", "odd|folder"]
    assert counts(found)["bad-name"] == 2


def test_citations_in_inline_code_and_comments_are_left_alone() -> None:
    text = (
        "---\ntype: entity\n---\n"
        "- Write it as `([[wiki/sources/x|display]])`, not otherwise ([[wiki/sources/a]]).\n"
        "<!--\n- hidden ([[wiki/sources/b|B]]).\n-->\n"
        "%%\n- also hidden ([[wiki/sources/c#h]]).\n%%\n"
        "- inline %% ([[wiki/sources/d|D]]) %% note ([[wiki/sources/a]]).\n"
    )
    found = kinds(run([note(ENTITY, FULL)], texts={ENTITY: text}), "citation-format")
    assert found == []


def test_a_web_address_without_its_scheme_is_told_to_get_one() -> None:
    found = run(
        [note("CONTRIBUTING.md")],
        [
            Link(
                "CONTRIBUTING.md",
                "[the site](www.13thagesrd.com)",
                "www.13thagesrd.com",
                None,
                "markdown",
                7,
                None,
                False,
            ),
            Link(
                "CONTRIBUTING.md", "[notes](notes.md)", "notes.md", None, "markdown", 8, None, False
            ),
            Link(
                "CONTRIBUTING.md", "[plan](plan.org)", "plan.org", None, "markdown", 9, None, False
            ),
        ],
    )
    broken = kinds(found, "broken-link")
    assert broken[0].fix == "https://www.13thagesrd.com"
    assert "a web address needs its scheme" in broken[0].message
    assert broken[1].fix is None and "web address" not in broken[1].message  # a file, as written
    assert "web address" not in broken[2].message  # `plan.org` may be an org-mode file


def test_a_missing_page_linked_by_path_is_shown_as_written() -> None:
    notes = [note(f"spells/n{i}.md") for i in range(3)]
    raw = "[Psychic](../Traits/Psychic.md)"
    links = [
        Link(f"spells/n{i}.md", raw, "../Traits/Psychic.md", None, "markdown", 3, None, False)
        for i in range(3)
    ]
    (found,) = kinds(run(notes, links), "missing-page")
    assert found.message.startswith(f"3 notes link {raw}, which has no note")
    # links of one name to different places: the name, not one of them
    mixed = [*links[:2], link("spells/n2.md", "Psychic", None)]
    (named,) = kinds(run(notes, mixed), "missing-page")
    assert named.message.startswith("3 notes link [[Psychic]], which has no note")
