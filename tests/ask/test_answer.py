"""ask's pure parts: choosing sentences, citing them, checking an LLM's prose."""

from __future__ import annotations

from companion.ask.answer import Answer, Passage, candidates, check_prose, pick
from companion.embed import Embedder


def test_a_citation_names_the_note_and_its_heading_without_link_syntax() -> None:
    assert Passage("a/B c.md", "Why [it] | works #1", "x", 0).citation == "[[a/B c#Why it works 1]]"
    assert Passage("a/B.md", "", "x", 0).citation == "[[a/B]]"


def test_candidates_are_a_notes_sentences_under_their_headings_without_citation_residue() -> None:
    note = (
        "---\ntype: entity\n---\nThe crane lifts heavy loads daily.\n\n## Limits\n"
        "- The crane lifts at most 40 tonnes ([[wiki/sources/spec]]). ^i-1a2b3c4d\n"
    )
    found = candidates("wiki/entities/Crane.md", note.encode())
    assert ("Limits", "The crane lifts at most 40 tonnes.") in found
    assert all("wiki/sources" not in text and "^i-" not in text for _, text in found)


def test_pick_prefers_the_sentence_that_answers_and_spreads_over_notes(embedder: Embedder) -> None:
    notes = [
        (
            "yard/Crane.md",
            [
                ("", "How the yard crane is looked after and used."),
                ("Service", "The yard crane is serviced every Tuesday at 07:00 by the day shift."),
                ("Service", "The yard crane has yellow paint on its boom arm."),
                ("Service", "The yard crane cab seats one driver and one trainee."),
            ],
        ),
        ("yard/Gate.md", [("", "The yard gate is painted blue and faces the river.")]),
    ]
    chosen = pick("when is the yard crane serviced", notes, embedder, size=3)
    assert chosen[0].text.startswith("The yard crane is serviced every Tuesday")
    assert sum(p.path == "yard/Crane.md" for p in chosen) <= 2  # at most two from one note


def test_an_llm_sentence_without_a_valid_passage_number_is_dropped() -> None:
    passages = [Passage("a.md", "H", "one", 1.0), Passage("b.md", "", "two", 0.5)]
    kept, dropped = check_prose(
        "The crane is serviced on Tuesdays [1]. It is painted yellow. It lifts 40 tonnes [7]. "
        "Drivers sit in the cab [2].",
        passages,
    )
    assert [(t, p.path) for t, p in kept] == [
        ("The crane is serviced on Tuesdays.", "a.md"),
        ("Drivers sit in the cab.", "b.md"),
    ]
    assert dropped == 2
    answer = Answer("q", passages, kept)
    assert answer.markdown().splitlines()[0] == "- The crane is serviced on Tuesdays ([[a#H]])."
