"""The extractive synthesizer: facts are the source's own units, subjects the names it uses."""

from __future__ import annotations

from pathlib import Path

import pytest

from companion.embed import Embedder
from companion.ingest.neutral import neutralise
from companion.ingest.result import Converted, Format, KnownPage, Synthesis
from companion.ingest.synth.extractive import ExtractiveSynthesizer
from companion.ingest.units import units

VAULT = Path(__file__).resolve().parents[2] / "vault"
LEDGER = KnownPage(
    "wiki/entities/Ledger Service.md", "Ledger Service", ("Harbourline Ledger", "ledger"), "entity"
)
IDEMPOTENCY = KnownPage("wiki/concepts/Idempotency.md", "Idempotency", (), "concept")
EXAMPLE_KNOWN = (
    LEDGER,
    IDEMPOTENCY,
    KnownPage(
        "wiki/answers/How does the ledger learn about payments.md",
        "How does the ledger learn about payments",
        (),
        "answer",
    ),
)


def synth(text: str, known: tuple[KnownPage, ...] = (), fmt: Format = "markdown") -> Synthesis:
    return ExtractiveSynthesizer().synthesize(Converted(text, fmt), known)


def entities(result: Synthesis) -> dict[str, tuple[str, ...]]:
    return {s.name: s.aliases for s in result.subjects if s.kind == "entity"}


def concepts(result: Synthesis) -> list[str]:
    return [s.name for s in result.subjects if s.kind == "concept"]


def about(result: Synthesis, needle: str) -> tuple[str, ...]:
    (fact,) = [f for f in result.facts if needle in f.text]
    return fact.about


def example(name: str, tmp_path: Path) -> Converted:
    """A real source of the example vault, read from a copy in tmp_path."""
    copy = tmp_path / name
    copy.write_bytes((VAULT / "sources" / name).read_bytes())
    fmt: Format = "text" if copy.suffix == ".txt" else "markdown"
    return Converted(copy.read_text(encoding="utf-8"), fmt)


# -- facts -------------------------------------------------------------------------------------


def test_facts_are_the_units_less_questions_greetings_and_todos() -> None:
    text = (
        "Thanks for the quick reply yesterday.\n\n"
        "The ledger runs PostgreSQL 15 in production now. Is 500 req/s a hard cap per MID?\n\n"
        "TODO: check the replica lag numbers again\n\n"
        "- Payouts read balances from the primary database.\n"
    )
    result = synth(text)
    assert [f.text for f in result.facts] == [
        "The ledger runs PostgreSQL 15 in production now.",
        "Payouts read balances from the primary database.",
    ]
    found = {unit.start: unit for unit in units(Converted(text, "markdown"))}
    for fact in result.facts:
        unit = found[fact.start]
        assert (fact.text, fact.end, fact.kind) == (unit.text, unit.end, unit.kind)
        assert fact.page is None
    assert result.synthesizer == "extractive-2"
    assert result.dropped == 0


def test_a_pdf_fact_carries_the_page_its_span_starts_on() -> None:
    text = "The first page says the ledger runs PostgreSQL 15.\nThe second page says it runs on two replicas.\n"
    second = text.index("The second")
    result = ExtractiveSynthesizer().synthesize(Converted(text, "pdf", pages=(0, second)), ())
    assert [f.page for f in result.facts] == [1, 2]


def test_an_empty_source_gives_an_empty_synthesis() -> None:
    result = synth("# Only a heading\n\n```\ncode only\n```\n")
    assert (result.facts, result.subjects, result.summary) == ((), (), ())


def test_every_fact_is_one_safe_line_equal_to_its_neutralised_span(tmp_path: Path) -> None:
    text = (
        "See [[CONFLICT]] and the %%hidden%% note about Alice Chen today.\n\n"
        "| System | Owner |\n|---|---|\n| [[Ledger Service\\|ledger]] | Alice Chen |\n\n"
        "> [!conflict] a callout line that quotes the #urgent tag here\n"
    )
    source = Converted(text, "markdown")
    result = ExtractiveSynthesizer().synthesize(source, ())
    assert result.facts
    for fact in result.facts:
        for bad in ("[[", "]]", "%%", "\n"):
            assert bad not in fact.text
        if fact.kind != "row":
            assert neutralise(text[fact.start : fact.end]) == fact.text


# -- determinism -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(p.name for p in (VAULT / "sources").iterdir()))
def test_same_bytes_give_the_same_synthesis(name: str, tmp_path: Path, embedder: Embedder) -> None:
    first = ExtractiveSynthesizer().synthesize(example(name, tmp_path), EXAMPLE_KNOWN)
    again = ExtractiveSynthesizer().synthesize(
        example(name, tmp_path), tuple(reversed(EXAMPLE_KNOWN))
    )
    assert first == again
    with_model = ExtractiveSynthesizer(embedder).synthesize(example(name, tmp_path), EXAMPLE_KNOWN)
    assert with_model == ExtractiveSynthesizer(embedder).synthesize(
        example(name, tmp_path), EXAMPLE_KNOWN
    )
    assert with_model.facts == first.facts and with_model.subjects == first.subjects


# -- what the vault knows ----------------------------------------------------------------------


def test_a_known_title_or_alias_is_found_in_any_case_and_named_after_the_page() -> None:
    text = (
        "The LEDGER posts journal entries every night.\n\nHarbourline ledger feeds the reports.\n"
    )
    result = synth(text, (LEDGER,))
    (subject,) = result.subjects
    assert (subject.name, subject.kind, subject.existing) == (
        "Ledger Service",
        "entity",
        LEDGER.path,
    )
    assert subject.aliases == ("Harbourline Ledger", "ledger")
    assert [f.about for f in result.facts] == [("Ledger Service",), ("Ledger Service",)]


def test_a_known_alias_is_not_found_inside_an_identifier() -> None:
    result = synth("The pg-ledger cluster runs two replicas at the moment.\n", (LEDGER,))
    assert "Ledger Service" not in entities(result)


def test_a_known_concept_page_matches_with_one_mention_and_stays_a_concept() -> None:
    result = synth("Idempotency keys are kept for 24 hours at most.\n", (IDEMPOTENCY,))
    assert [(s.name, s.kind, s.existing) for s in result.subjects] == [
        ("Idempotency", "concept", IDEMPOTENCY.path)
    ]


def test_source_and_answer_pages_are_never_subjects() -> None:
    known = (
        KnownPage("wiki/sources/q3-architecture-review.md", "q3-architecture-review", (), "source"),
        KnownPage(
            "wiki/answers/Why are payments retried.md", "Why are payments retried", (), "answer"
        ),
    )
    result = synth("See q3-architecture-review: why are payments retried so often today.\n", known)
    assert result.subjects == ()


def test_a_persons_note_matches_by_its_exact_name_like_title_only() -> None:
    known = (
        KnownPage("services/ledger/Architecture Overview.md", "Architecture Overview", ("arch",)),
        KnownPage("services/ledger/Overview.md", "Overview", ()),
    )
    result = synth(
        "The Architecture Overview lists the open questions. An overview of the arch is due.\n",
        known,
    )
    assert [(s.name, s.existing) for s in result.subjects] == [
        ("Architecture Overview", "services/ledger/Architecture Overview.md")
    ]
    assert synth("The architecture overview lists the open questions.\n", known).subjects == ()


# -- names in the text -------------------------------------------------------------------------


def test_capitalised_names_need_two_mentions() -> None:
    twice = synth(
        "Alice Chen owns the Payments API today.\n\nThe review went to Alice Chen first.\n"
    )
    assert "Alice Chen" in entities(twice)
    once = synth("Alice Chen owns the rate limiter today.\n\nThe review went well for everyone.\n")
    assert "Alice Chen" not in entities(once)


def test_sentence_initial_ordinary_words_are_not_names() -> None:
    text = (
        "Payouts read from the primary and payouts are gated daily.\n\n"
        "If CareRecord is down, wards use paper. Merchant dashboards showed stale balances.\n\n"
        "Wards print lists before CareRecord goes down for maintenance.\n"
    )
    names = entities(synth(text))
    assert "CareRecord" in names
    assert not {"Payouts", "If CareRecord", "Merchant", "Wards"} & set(names)


def test_a_first_word_stays_when_the_rest_never_stands_alone() -> None:
    text = (
        "Clinical Applications owns the record system now.\n\n"
        "The record system is run by Clinical Applications for all clinical staff.\n"
    )
    assert "Clinical Applications" in entities(synth(text))


def test_identifiers_are_entities_and_ordinary_compounds_are_not() -> None:
    text = (
        "A report ran against `pg-ledger-2` for an hour.\n\n"
        "Reads moved off pg-ledger-2 afterwards. The cause was a full disk on tw-node-a, the primary.\n\n"
        "Later tw-node-a stopped answering the on-call engineer and the on-call manager.\n"
    )
    names = entities(synth(text))
    assert {"pg-ledger-2", "tw-node-a"} <= set(names)
    assert "on-call" not in names


def test_generic_and_common_noun_acronyms_are_not_entities() -> None:
    text = (
        "The PACS stores images. PACS runs at 02:00 UTC and at 03:00 UTC every night.\n\n"
        "Each merchant may use one MID, and more than one MID needs a contract over HTTP and HTTP.\n"
    )
    names = entities(synth(text))
    assert "PACS" in names
    assert not {"UTC", "MID", "HTTP"} & set(names)


def test_variants_merge_into_one_subject() -> None:
    text = (
        "Requests go to the CardNet Gateway (CardNet) at most 500 times per second.\n\n"
        "CardNet answers within 30 seconds. Ravi Menon owns the ledger work.\n\n"
        "Everyone agreed with Ravi about the upgrade. The Ledger Service runs on its own.\n\n"
        "The ledger service posts entries every day.\n"
    )
    result = synth(text)
    names = entities(result)
    assert names["CardNet Gateway"] == ("CardNet",)
    assert names["Ravi Menon"] == ()  # a bare first name is a mention, not an alias
    assert "Ledger Service" in names
    assert not {"CardNet", "Ravi", "ledger service"} & set(names)
    assert about(result, "Everyone agreed") == ("Ravi Menon",)


def test_table_subjects_need_one_mention_and_other_tables_give_none() -> None:
    text = (
        "## Systems\n\n| System | Owner |\n|---|---|\n"
        "| bedflow | Clinical Applications |\n| medsync | Pharmacy Informatics |\n\n"
        "## At a glance\n\n| Item | Detail |\n|---|---|\n"
        "| Hosting | Azure UK South region |\n| Database | SQL cluster with replicas |\n"
    )
    names = entities(synth(text))
    assert {"bedflow", "medsync"} <= set(names)
    assert not {"Hosting", "Database"} & set(names)


def test_a_row_fact_is_labelled_but_its_repeated_headers_name_no_subject_or_concept() -> None:
    text = (
        "# Payment systems\n\n| System | Team | Support contact |\n|---|---|---|\n"
        "| ledger-sync | Payments Platform | Payments Desk |\n"
        "| risk-scorer | Fraud Analytics | Fraud Desk |\n"
        "| card-vault | Security Engineering | Vault Desk |\n"
    )
    result = synth(text)
    assert result.facts[0].text == (
        "System: ledger-sync; Team: Payments Platform; Support contact: Payments Desk"
    )
    assert set(entities(result)) == {"ledger-sync", "risk-scorer", "card-vault"}
    assert concepts(result) == []  # `support contact`, on every row, is the table's
    assert [f.about for f in result.facts] == [("ledger-sync",), ("risk-scorer",), ("card-vault",)]


def test_each_fact_names_every_subject_it_mentions_in_order() -> None:
    text = (
        "Marketly sends traffic to the CardNet Gateway every day.\n\n"
        "The CardNet Gateway throttled Marketly on Saturday afternoon.\n\n"
        "Nothing else happened during the whole weekend.\n"
    )
    result = synth(text)
    assert [f.about for f in result.facts] == [
        ("Marketly", "CardNet Gateway"),
        ("CardNet Gateway", "Marketly"),
        (),
    ]


def test_subject_names_carry_no_link_or_heading_syntax() -> None:
    text = "Contact Jonas Berg: he knows.\n\nJonas Berg's team runs the gateway.\n"
    result = synth(text)
    assert "Jonas Berg" in entities(result)
    for subject in result.subjects:
        assert not set(subject.name) & set("[]|#^:")


# -- concepts ----------------------------------------------------------------------------------


def test_a_concept_recurs_three_times_in_two_units_and_is_named_singular() -> None:
    text = (
        "The replica lag alert fired late. Replica lag hurt the dashboards.\n\n"
        "We now page on replica lag above a minute.\n\n"
        "The rate limit is fixed. It held well.\n"
    )
    result = synth(text)
    assert concepts(result) == ["Replica Lag"]
    assert about(result, "page on") == ("Replica Lag",)


def test_a_phrase_in_one_unit_only_or_twice_is_no_concept() -> None:
    text = (
        "Service credits, service credits and service credits were claimed together today.\n\n"
        "The platform fee rose. The platform fee is paid quarterly by the group.\n"
    )
    assert concepts(synth(text)) == []


# -- summary -----------------------------------------------------------------------------------


def test_summary_is_three_to_seven_facts_in_source_order(
    tmp_path: Path, embedder: Embedder
) -> None:
    source = example("q3-architecture-review.md", tmp_path)
    for synthesizer in (ExtractiveSynthesizer(), ExtractiveSynthesizer(embedder)):
        result = synthesizer.synthesize(source, EXAMPLE_KNOWN)
        assert 3 <= len(result.summary) <= 7
        assert all(fact in result.facts for fact in result.summary)
        starts = [fact.start for fact in result.summary]
        assert starts == sorted(starts) and len(set(starts)) == len(starts)


def test_a_short_source_summarises_with_every_fact() -> None:
    result = synth(
        "The ledger runs PostgreSQL 15 in production.\n\nPayouts read from the primary.\n"
    )
    assert result.summary == result.facts


# -- the example vault -------------------------------------------------------------------------


def test_example_q3_review_feeds_the_ledger_page_and_names_people(tmp_path: Path) -> None:
    result = ExtractiveSynthesizer().synthesize(
        example("q3-architecture-review.md", tmp_path), EXAMPLE_KNOWN
    )
    names = entities(result)
    assert {"Kafka", "pg-ledger", "PostgreSQL"} <= set(names)
    # The "Participants:" and "Prepared by" lines are the document's bookkeeping: names are
    # found there, but they are not facts.
    assert not any(f.text.startswith(("Participants:", "Prepared by")) for f in result.facts)
    ledger = next(s for s in result.subjects if s.name == "Ledger Service")
    assert ledger.existing == LEDGER.path
    upgrade = next(f for f in result.facts if "upgraded to **PostgreSQL 15**" in f.text)
    assert "Ledger Service" in upgrade.about
    idempotency = next(s for s in result.subjects if s.name == "Idempotency")
    assert (idempotency.kind, idempotency.existing) == ("concept", IDEMPOTENCY.path)
    assert not {"Q3", "Q2", "UTC", "API", "Payouts"} & set(names)


def test_example_email_thread_and_spec(tmp_path: Path) -> None:
    mail = ExtractiveSynthesizer().synthesize(
        example("rate-limit-email-thread.txt", tmp_path), EXAMPLE_KNOWN
    )
    assert {"Marketly", "Payments API"} <= set(entities(mail))
    assert not any(f.text.startswith(("From:", "Subject:", "Best", "Regards")) for f in mail.facts)
    assert not any(f.text.endswith("?") for f in mail.facts)
    spec = ExtractiveSynthesizer().synthesize(
        example("cardnet-gateway-spec.txt", tmp_path), EXAMPLE_KNOWN
    )
    assert "CardNet Gateway" in entities(spec)
    assert not {"MUST", "MUST NOT", "CN-THROTTLE", "THROUGHPUT LIMITS"} & set(entities(spec))
