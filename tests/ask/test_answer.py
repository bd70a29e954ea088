"""ask's pure parts: choosing sentences, citing them, checking an LLM's prose."""

from __future__ import annotations

from companion.ask.answer import (
    Answer,
    Passage,
    asked_verb,
    boilerplate,
    candidates,
    check_prose,
    pick,
    uses_verb,
)
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


def test_a_callout_is_left_out_but_the_rest_of_the_note_is_kept() -> None:
    note = (
        "What to do when the pump stops.\n\n"
        "> [!warning] Mind the valve\n> Close the valve before anything else.\n\n"
        "## Restart\nPress the green button and wait for the pressure to settle.\n"
    )
    found = candidates("runbooks/Pump.md", note.encode())
    assert ("Restart", "Press the green button and wait for the pressure to settle.") in found
    assert not any("valve" in text for _, text in found)


def test_a_page_types_template_lines_are_no_evidence() -> None:
    template = (
        "---\ntype: source\n---\nSummary of the raw source [[sources/{{title}}.md]].\n\n"
        "## Summary\n%% companion:begin summary %%\n- One bullet per point.\n"
        "%% companion:end summary %%\n"
    )
    page = (
        "---\ntype: source\n---\nSummary of the raw source [[sources/pump-manual.txt]].\n\n"
        "## Summary\n%% companion:begin summary %%\n"
        "- The pump delivers forty litres a minute ([[wiki/sources/pump-manual]]).\n"
        "%% companion:end summary %%\n"
    )
    pattern = boilerplate(template)
    assert pattern is not None
    found = candidates("wiki/sources/pump-manual.md", page.encode(), pattern)
    assert [text for _, text in found] == ["The pump delivers forty litres a minute."]
    assert len(candidates("wiki/sources/pump-manual.md", page.encode())) == 2  # without it


def test_a_glossary_entry_is_one_passage() -> None:
    note = (
        "## Terms\n**Soft stop** — a stop the pump recovers from. We restart these by hand.\n\n"
        "**Hard stop** — a stop that needs an engineer.\n"
    )
    found = [text for _, text in candidates("Glossary.md", note.encode())]
    assert found == [
        "**Soft stop** — a stop the pump recovers from. We restart these by hand.",
        "**Hard stop** — a stop that needs an engineer.",
    ]


def _first(question: str, sentences: list[tuple[str, str]], embedder: Embedder) -> str:
    return pick(question, [("plant/Pump.md", sentences)], embedder, size=1)[0].text


def test_a_why_question_wants_the_reason_not_the_sentence_stating_what_it_asks_about(
    embedder: Embedder,
) -> None:
    question = "why was the north pump replaced by a diesel pump"
    premise = (
        "Facts",
        "The north pump was replaced by a diesel pump from the Leeds depot in 2023.",
    )
    reason = ("Facts", "The north pump was replaced because its electric motor kept tripping.")
    assert _first(question, [premise, reason], embedder) == reason[1]
    # "since 2023" is a time, not a reason; and "because" followed by the question's own words
    # explains something else
    dated = ("Facts", "A diesel pump from the Leeds depot replaced the north pump since 2023.")
    echoed = ("Facts", "Output fell because the north pump was replaced by a diesel pump.")
    assert _first(question, [dated, echoed, reason], embedder) == reason[1]
    # after "so the" comes the result: the reason is what goes before it
    result = ("Facts", "Its electric motor kept tripping, so the north pump was replaced.")
    assert _first(question, [premise, result], embedder) == result[1]


def test_a_when_question_wants_the_sentence_with_a_time(embedder: Embedder) -> None:
    topic = ("", "The night shift flushes the pump filters with clean water.")
    when = ("", "The pump filters are flushed every Sunday at 22:00.")
    assert _first("when are the pump filters flushed", [topic, when], embedder) == when[1]


def test_why_x_instead_of_y_wants_what_is_wrong_with_y(embedder: Embedder) -> None:
    decision = ("", "The plant runs diesel pumps on the north bank of the river.")
    against = ("", "An electric motor would need a grid link.")
    question = "why does the plant use diesel instead of an electric motor"
    assert _first(question, [decision, against], embedder) == against[1]


def test_a_what_to_do_question_wants_an_instruction(embedder: Embedder) -> None:
    scope = ("Restart", "The pump stops when the inlet pressure drops below two bar.")
    step = ("Restart", "Check the inlet gauge when the pump stops, then press the green button.")
    assert _first("what to do when the pump stops", [scope, step], embedder) == step[1]


def test_a_notes_headline_is_no_answer(embedder: Embedder) -> None:
    # the same words (the same vector from the fake model), one written as a headline
    headline = ("", "How the pump restarts after the inlet valve closes at night.")
    statement = ("", "The pump restarts after the inlet valve closes at night, and how.")
    assert _first("when does the pump restart", [headline, statement], embedder) == statement[1]


def test_a_definition_answers_what_is_but_not_how(embedder: Embedder) -> None:
    entry = ("Terms", "**Soft stop** — restarted by pressing the green button on the north panel.")
    plain = ("Terms", "Soft stop — restarted by pressing the green button on the north panel.")
    assert _first("how is a soft stop restarted", [entry, plain], embedder) == plain[1]
    assert _first("what is a soft stop", [entry, plain], embedder) == entry[1]


def test_how_is_x_done_wants_the_verb_used_as_a_verb_not_the_thing_named(
    embedder: Embedder,
) -> None:
    question = "how are the pump filters cleaned"
    assert asked_verb(question) == asked_verb("how is a failed filter cleaned")  # the last one
    assert asked_verb("how does the pump work") is None  # not "how is X <done>"
    named = ("Filters", "A pump filter clean takes an hour with the inlet shut.")
    done = ("Filters", "Filters are cleaned by hand with warm water.")
    assert _first(question, [named, done], embedder) == done[1]
    gerund = ("Filters", "Pump filter cleaning takes an hour.")
    active = ("Filters", "We clean them by hand with warm water.")
    assert _first(question, [gerund, active], embedder) == active[1]
    verb = asked_verb(question)
    assert verb is not None
    assert not uses_verb("Filters are never cleaned while the pump runs.", verb)  # a denial
    assert uses_verb("The night shift will clean them.", verb)
    assert asked_verb("how are payouts sent to sellers") == asked_verb("how are payouts sent")
    assert uses_verb("It sends one batch a day.", asked_verb("how is a batch sent") or "")
    assert not uses_verb("Payments aren't retried by us.", asked_verb("how is X retried") or "")
    # the question's own clause: "when the card expired" says when, not what is done
    assert asked_verb("how is a payment retried when the card expired") == asked_verb(
        "how is a payment retried"
    )
    read = asked_verb("how is the settlement file read")
    assert read is not None
    assert uses_verb("The job will read it at 03:00.", read)
    assert not uses_verb("A read of the file takes a minute.", read)  # the noun
