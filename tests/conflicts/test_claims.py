"""Claims read from facts: clauses, table rows, names, lead, values, attribute, scope, change.

Every sentence here is written for these tests (a payments and infrastructure domain); none is
taken from an evaluation corpus.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from companion.conflicts.claims import Claim, claims, linked_names
from companion.conflicts.values import per_year, values

LEDGER = ("wiki/entities/Ledger Service.md", "Ledger Service")
LIMITS = ("wiki/concepts/Rate Limits.md", "Rate Limits")
API = ("wiki/entities/Payments API.md", "Payments API")
STORE = ("wiki/entities/Ledger.md", "Ledger")


def read(
    text: str, where: tuple[str, str] = LEDGER, entities: frozenset[str] | None = None
) -> list[Claim]:
    """The claims of `text` on the page `where`."""
    return claims(text, where[0], where[1], entities=entities)


def make(
    text: str, where: tuple[str, str] = LEDGER, entities: frozenset[str] | None = None
) -> Claim:
    """The one claim of `text` on the page `where` (the test fails if it makes more or none)."""
    found = read(text, where, entities)
    assert len(found) == 1, (text, [c.text for c in found])
    return found[0]


def kinds(c: Claim) -> list[tuple[str, str]]:
    return [(v.kind, v.raw) for v in c.values]


# ---- text, citation, block id ----------------------------------------------------------------


def test_citation_block_id_and_bullet_are_stripped_and_sources_kept() -> None:
    c = make(
        "- The ledger runs PostgreSQL 15 ([[wiki/sources/arch-review-2025]], "
        "[[wiki/sources/db-runbook]]). ^i-1a2b3c4d"
    )
    assert c.text == c.fact == "The ledger runs PostgreSQL 15."
    assert c.sources == ("wiki/sources/arch-review-2025", "wiki/sources/db-runbook")
    assert c.page == "wiki/entities/Ledger Service.md"
    assert "wiki" not in c.attribute and "i-1a2b3c4d" not in c.attribute
    assert all("[[" not in v.raw for v in c.values)


def test_a_fact_without_citation_has_no_sources() -> None:
    assert make("The ledger runs PostgreSQL 15.").sources == ()


def test_value_offsets_refer_to_the_clause_text() -> None:
    for c in read(
        "- Webhooks are retried 8 times ([[wiki/sources/webhook-spec]]); refunds expire "
        "after 90 days. ^i-0badf00d"
    ):
        assert [c.text[v.start : v.end] for v in c.values] == [v.raw for v in c.values]


def test_every_clause_of_a_fact_keeps_the_whole_fact_and_its_sources() -> None:
    found = read("Backups are kept for 30 days; snapshots for 7 days ([[wiki/sources/s]]).")
    assert [c.fact for c in found] == ["Backups are kept for 30 days; snapshots for 7 days."] * 2
    assert all(c.sources == ("wiki/sources/s",) for c in found)


# ---- a clause with nothing to compare --------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "The ledger team owns the reconciliation dashboard.",
        "See the runbook for details.",
    ],
)
def test_a_clause_with_no_value_and_no_boolean_statement_is_a_boolean_on_no_word(
    text: str,
) -> None:
    c = make(text)
    assert [(v.kind, v.raw, v.start, v.end, v.truth) for v in c.values] == [
        ("boolean", "", 0, 0, True)
    ]


def test_an_empty_fact_makes_no_claims() -> None:
    assert read("") == []
    assert read("  ") == []


# ---- subject, names ----------------------------------------------------------------------------


def test_the_subject_of_every_claim_is_the_page() -> None:
    a = make("The Payments API allows 100 requests per second.", LIMITS)
    b = make("The CardNet Gateway's limit is 200 requests per second.", LIMITS)
    assert a.subject == b.subject == "wiki/concepts/Rate Limits.md"


def test_the_names_of_a_clause_tell_two_things_on_one_page_apart() -> None:
    a = make("The Payments API allows 100 requests per second.", LIMITS)
    b = make("The CardNet Gateway's limit is 200 requests per second.", LIMITS)
    assert a.names == a.entities == ("payments api",)
    assert b.names == ("cardnet gateway",)  # the possessive is not part of the name


def test_the_pages_own_name_is_not_a_name_of_its_clause() -> None:
    c = make("The Ledger Service posts 4 million entries a day.")
    assert c.names == ()
    assert "ledger" not in c.attribute and "servic" not in c.attribute


def test_a_product_with_a_version_is_not_a_name() -> None:
    assert make("PostgreSQL 15 is the ledger's database engine.").names == ()


def test_an_ordinary_capitalised_first_word_is_not_a_name() -> None:
    assert make("Nightly reconciliation runs at 03:00 UTC.").names == ()


def test_a_title_suffix_in_parentheses_is_not_part_of_the_pages_name() -> None:
    c = make("Idempotency keys are kept for 24 hours.", ("wiki/concepts/Idempotency (concept).md",
                                                         "Idempotency (concept)"))  # fmt: skip
    assert c.lead == ""
    assert "idempotency" not in c.attribute and c.attribute == ("keep", "key")


def test_a_classification_label_is_a_name_not_a_version() -> None:
    c = make("Incidents are Priority 2.")
    assert "priority 2" in c.names
    assert all(v.kind != "version" for v in c.values)


def test_words_with_non_ascii_letters_are_kept_whole() -> None:
    assert make("The Zürich region hosts 3 replicas.").names == ("zürich",)
    assert "façad" in make("Payments are cleared through the façade within 2 seconds.").attribute


# ---- entities, lead ----------------------------------------------------------------------------


def test_only_names_of_linked_pages_are_entities_when_the_links_are_known() -> None:
    text = "A SQL Server 2022 Always On availability group holds 3 replicas."
    unknown = make(text, STORE)
    linked = make(text, STORE, entities=frozenset({"sql server"}))
    assert unknown.names == unknown.entities == ("always on",)
    assert linked.names == ("always on",) and linked.entities == ()


def test_a_linked_name_written_in_lower_case_is_a_name_and_an_entity() -> None:
    text = "Events go through webhook-dispatcher within 2 seconds."
    c = make(text, STORE, entities=frozenset({"webhook-dispatcher"}))
    assert c.names == c.entities == ("webhook-dispatcher",)
    assert "webhook-dispatcher" not in c.attribute
    assert make(text, STORE).names == ()  # without the link it is a word of the attribute


def test_linked_names_are_the_wiki_pages_a_page_links_to_not_its_sources() -> None:
    page = (
        "- Runs on [[wiki/entities/Harbour Depot#Roads]] and [[wiki/entities/SQL Server|SQL]] "
        "([[wiki/sources/site-survey]]). ^i-1a2b3c4d\n"
    )
    assert linked_names(page) == frozenset({"harbour depot", "sql server"})


def test_lead_is_the_pages_name_an_entitys_name_or_none() -> None:
    depots = frozenset({"harbour depot"})
    assert make("The Ledger holds 3 replicas.", STORE).lead == ""
    assert make("Ledger holds 3 replicas.", STORE).lead == ""
    assert make("Harbour Depot holds 14 roads.", STORE, entities=depots).lead == "harbour depot"
    assert make("Harbour Depot holds 14 roads.", STORE).lead is None
    assert make("Each depot holds 14 roads.", STORE, entities=depots).lead is None


# ---- clauses -----------------------------------------------------------------------------------


def test_a_semicolon_splits_a_fact_into_clauses() -> None:
    found = read("Backups are kept for 30 days; snapshots are kept for 7 days.")
    assert [c.text for c in found] == [
        "Backups are kept for 30 days",
        "snapshots are kept for 7 days.",
    ]
    assert [kinds(c) for c in found] == [[("quantity", "30 days")], [("quantity", "7 days")]]


def test_a_colon_after_a_verb_splits_and_a_labels_colon_does_not() -> None:
    found = read("The ledger is replicated: the standby lags by 2 seconds.", STORE)
    assert [c.text for c in found] == ["The ledger is replicated", "the standby lags by 2 seconds."]
    assert [c.text for c in read("Recovery time objective: 4 hours")] == [
        "Recovery time objective: 4 hours"
    ]


@pytest.mark.parametrize(
    ("text", "second"),
    [
        ("The batch takes 20 minutes, so the report lands at 06:00 UTC.",
         "so the report lands at 06:00 UTC."),
        ("The ledger holds 3 replicas, with 2 in Dublin.", "with 2 in Dublin."),
        ("The ledger holds 3 replicas, and Billing Engine holds 2.", "and Billing Engine holds 2."),
    ],
)  # fmt: skip
def test_a_comma_before_so_with_or_and_a_name_starts_a_new_clause(text: str, second: str) -> None:
    assert [c.text for c in read(text, STORE)][1:] == [second]


def test_a_comma_and_a_lower_case_word_does_not_start_a_new_clause() -> None:
    assert len(read("The ledger holds 3 replicas, and billing holds 2.", STORE)) == 1


# ---- table rows --------------------------------------------------------------------------------


def test_a_labelled_row_gives_one_claim_per_labelled_cell_about_its_first_cell() -> None:
    found = read("System: Ledger backups; Owning team: Storage; Retention: 30 days", STORE)
    assert [c.text for c in found] == ["Owning team: Storage", "Retention: 30 days"]
    assert all(c.row == "ledger backups" for c in found)
    assert all(c.names[0] == c.entities[0] == "ledger backups" for c in found)
    assert [lab.option for lab in found[0].labels] == ["storage"]
    assert kinds(found[1]) == [("quantity", "30 days")]


@pytest.mark.parametrize("first", ["Ledger", "Ledger service", "Ledger integration engine"])
def test_a_row_whose_first_cell_names_the_page_is_about_the_page(first: str) -> None:
    found = read(f"System: {first}; Retention: 30 days", STORE)
    assert [(c.row, c.names, c.entities) for c in found] == [("", (), ())]


def test_a_cell_holding_a_semicolon_goes_on() -> None:
    found = read("System: Billing Engine; Notes: nightly; manual; Retention: 30 days", STORE)
    assert [c.text for c in found] == ["Notes: nightly; manual", "Retention: 30 days"]


def test_a_clause_outside_a_row_has_no_row() -> None:
    assert make("Backups are kept for 30 days.", STORE).row is None


def test_a_keyed_row_is_read_as_one_clause_key_header_value() -> None:
    c = make("Backup retention — production: 30 days", STORE)
    assert c.text == "Backup retention (production): 30 days"
    assert c.attribute == ("backup", "retention") and c.scope == ("env:production",)
    assert kinds(c) == [("quantity", "30 days")]


# ---- values ------------------------------------------------------------------------------------


def test_a_year_before_a_noun_is_not_a_count() -> None:
    assert kinds(make("The 2024 budget is GBP 40.", STORE)) == [("money", "GBP 40")]
    assert kinds(make("The ledger holds 2023 records.", STORE)) == [("count", "2023 records")]


def test_a_duration_that_starts_a_hyphenated_compound_is_not_a_value() -> None:
    assert [v.kind for v in values("A month-end report is sent.")] == ["quantity"]
    assert [v.kind for v in make("A month-end report is sent.", STORE).values] == ["boolean"]


def test_a_duration_taken_at_a_time_is_not_a_value() -> None:
    assert [v.kind for v in make("Reviews cover two weeks at a time.", STORE).values] == ["boolean"]
    assert kinds(make("Reviews take two weeks.", STORE)) == [("quantity", "two weeks")]


def test_a_log_time_stamp_is_not_a_value() -> None:
    assert [v.kind for v in make("06:05 Stopped the ledger writer.", STORE).values] == ["boolean"]


def test_annual_money_is_a_yearly_rate() -> None:
    (plain,) = values("Support charge: GBP 184,000")
    (annual,) = make("Annual support charge: GBP 184,000", STORE).values
    rate = per_year(plain)
    assert (annual.kind, annual.unit, annual.magnitude) == (rate.kind, rate.unit, rate.magnitude)
    assert annual.unit == "GBP/s" != plain.unit
    assert make("Support charge: GBP 184,000", STORE).values[0].unit == "GBP"


def test_a_value_inside_a_setting_label_is_the_settings() -> None:
    text = "Set `max_delay = 30s` in the config."
    assert [v.raw for v in values(text)] == ["30s"]
    c = make(text, STORE)
    assert c.values == ()
    assert [(lab.klass, lab.option) for lab in c.labels] == [("setting:max_delay", "30s")]


def test_an_upper_bound_states_a_limit() -> None:
    assert "limit" in make("Payments are settled within 2 days.", STORE).attribute
    assert "limit" not in make("Payments are settled after 2 days.", STORE).attribute


def test_a_clause_saying_its_value_is_the_only_one_is_exclusive() -> None:
    assert make("The ledger is the only system of record.").exclusive is True
    assert make("The ledger is a system of record.").exclusive is False


# ---- attribute ---------------------------------------------------------------------------------


def test_attribute_of_a_version_is_version_and_the_product() -> None:
    assert make("The ledger runs PostgreSQL 15.").attribute == ("postgresql", "version")
    assert make("The ledger runs Kafka 3.6.").attribute == ("kafka", "version")


def test_a_change_verb_is_not_an_attribute_word() -> None:
    c = make("The ledger database was upgraded to PostgreSQL 16 ([[wiki/sources/b]]).")
    assert c.attribute == ("databas", "postgresql", "version")


def test_light_verbs_are_not_attribute_words() -> None:
    assert make("Nightly reconciliation runs at 03:00 UTC.").attribute == (
        "night",
        "reconciliation",
    )
    assert make("Reconciliation starts at 04:00 UTC.").attribute == ("reconciliation",)


def test_attribute_keeps_content_words_stemmed_without_values_and_stop_words() -> None:
    c = make("Idempotency keys are kept for 24 hours.", API)
    assert c.attribute == ("idempotency", "keep", "key")
    assert dict(c.surface) == {"idempotency": "Idempotency", "key": "keys", "keep": "kept"}


def test_attribute_of_a_count_holds_the_counted_noun() -> None:
    assert "replica" in make("pg-journal runs two streaming replicas.").attribute


def test_attribute_is_sorted_and_without_the_title_words() -> None:
    c = make("The ledger settles card payments within 2 days.")
    assert list(c.attribute) == sorted(c.attribute)
    assert "ledger" not in c.attribute and "servic" not in c.attribute


@pytest.mark.parametrize(
    ("text", "word"),
    [
        ("The ledger fails over in 30 seconds.", "failover"),
        ("The failover takes 30 seconds.", "failover"),
        ("The move is on 12 May 2025.", "cutover"),
        ("The migration is on 12 May 2025.", "cutover"),
        ("The cutover is on 12 May 2025.", "cutover"),
        ("The ledger is backed up in 2 hours.", "backup"),
    ],
)
def test_a_phrasal_verb_or_its_noun_is_read_as_one_word(text: str, word: str) -> None:
    assert make(text, STORE).attribute == (word,)


@pytest.mark.parametrize("word", ["fee", "price", "cost", "charge"])
def test_synonyms_share_one_attribute_word(word: str) -> None:
    assert make(f"The {word} is GBP 40.", STORE).attribute == ("price",)


def test_a_month_left_of_an_unread_date_is_not_an_attribute_word() -> None:
    c = make("The ledger has stored 3 replicas in PostgreSQL since April 2024.")
    assert "april" not in c.attribute


def test_enabled_and_disabled_state_one_attribute() -> None:
    a = make("3-D Secure challenges are enabled for card payments.", API)
    b = make("3-D Secure challenges are disabled for card payments.", API)
    assert "enabled" in a.attribute and "enabled" in b.attribute
    assert a.values[0].truth is True and b.values[0].truth is False


# ---- scope -----------------------------------------------------------------------------------


def test_p50_and_p95_are_different_scopes_of_one_attribute() -> None:
    a = make("p50 authorisation latency is 120 ms.", API)
    b = make("p95 authorisation latency is 450 ms.", API)
    assert a.attribute == b.attribute == ("authorisation", "latency")
    assert a.scope == ("stat:median",) and b.scope == ("stat:p95",)


def test_median_and_p50_are_one_scope() -> None:
    a = make("p50 authorisation latency is 120 ms.", API)
    b = make("Median authorisation latency is 140 ms.", API)
    assert a.scope == b.scope == ("stat:median",)
    assert a.attribute == b.attribute


def test_a_percentile_written_out_is_that_percentile() -> None:
    assert make("The 95th percentile latency is 450 ms.", API).scope == ("stat:p95",)


def test_environments_are_scopes_and_prod_is_production() -> None:
    a = make("The API runs 12 instances in production.", API)
    b = make("The API runs 2 instances in the test environment.", API)
    c = make("Prod has 10 instances of the API.", API)
    assert a.scope == c.scope == ("env:production",) and b.scope == ("env:test",)


def test_per_noun_is_a_scope_of_its_own() -> None:
    a = make("Refunds are limited to 50 requests per minute per merchant.", API)
    b = make("Refunds are limited to 20 requests per minute per account.", API)
    assert a.scope == ("per:merchant",) and b.scope == ("per:account",)
    assert a.attribute == b.attribute


def test_per_time_is_a_rate_not_a_scope() -> None:
    assert make("Refunds are limited to 50 requests per minute.", API).scope == ()


def test_contractual_and_internal_targets_are_different_scopes() -> None:
    a = make("The contractual uptime is 99.9%.", API)
    b = make("The internal uptime objective is 99.95%.", API)
    assert a.scope == ("commit:contractual",)
    assert b.scope == ("commit:internal", "commit:target")


def test_weekday_and_weekend_schedules_are_different_scopes() -> None:
    a = make("Payouts run at 09:00 UTC on weekdays.", ("wiki/entities/Payouts.md", "Payouts"))
    b = make("Payouts run at 11:00 UTC on weekends.", ("wiki/entities/Payouts.md", "Payouts"))
    assert a.scope == ("period:weekday",) and b.scope == ("period:weekend",)


# ---- booleans and polarity -------------------------------------------------------------------


def test_a_negated_boolean_has_its_assertions_attribute_and_the_other_truth() -> None:
    a = make("Journal entries are not encrypted at rest.")
    b = make("Journal entries are encrypted at rest.")
    assert a.polarity is False and b.polarity is True
    assert kinds(a) == kinds(b) == [("boolean", "encrypted")]
    assert a.values[0].truth is False and b.values[0].truth is True
    assert a.attribute == b.attribute


def test_a_modal_statement_is_a_boolean_claim() -> None:
    a = make("Card refunds can be reversed.", API)
    b = make("Card refunds cannot be reversed.", API)
    assert a.polarity and not b.polarity
    assert kinds(a) == kinds(b) == [("boolean", "reversed")]
    assert a.attribute == b.attribute


def test_an_enabled_flag_is_a_boolean_value_with_its_truth() -> None:
    a = make("Strong customer authentication is enabled.", API)
    b = make("Strong customer authentication is disabled.", API)
    assert a.values[-1].truth is True and b.values[-1].truth is False


def test_a_denial_without_copula_is_a_boolean_claim() -> None:
    c = make("There have been no failed payouts since the scheduler moved to UTC.")
    assert c.polarity is False
    assert [(v.kind, v.truth) for v in c.values] == [("boolean", False)]


# ---- change ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "pg-journal was upgraded from PostgreSQL 14 to 15.",
        "Settlement time was reduced from 20 to 8 minutes.",
        "Card tokens moved from the old vault to the new one in 2 weeks.",
        "Settlement files are no longer sent by email.",
        "Retries were 3, and are now 5.",
        "The API previously allowed 50 requests per second.",
        "Retries will be 5.",
        "Retries are 5 instead of 3.",
    ],
)
def test_a_stated_change_over_time_is_a_change(text: str) -> None:
    assert make(text).change is True


@pytest.mark.parametrize(
    "text",
    [
        "The ledger runs PostgreSQL 15.",
        "Webhooks are retried 8 times over 24 hours.",
        "Payments flow from the API to the ledger within 2 seconds.",
        "The ledger has used PostgreSQL 15 since 8 October 2024.",  # since: a period, no change
    ],
)
def test_a_plain_statement_is_not_a_change(text: str) -> None:
    assert make(text).change is False


def test_a_bound_up_to_after_a_verb_is_not_a_change() -> None:
    assert make("The replicas fell up to 14 minutes behind the primary.").change is False


# ---- determinism -----------------------------------------------------------------------------


SENTENCES = [
    ("The ledger runs PostgreSQL 15.", LEDGER),
    ("The ledger database was upgraded to PostgreSQL 16.", LEDGER),
    ("pg-journal runs two streaming replicas.", LEDGER),
    ("Journal entries are not encrypted at rest.", LEDGER),
    ("Nightly reconciliation runs at 03:00 UTC; reconciliation ends at 04:00 UTC.", LEDGER),
    ("The Payments API allows 100 requests per second.", LIMITS),
    ("The CardNet Gateway's limit is 200 requests per second.", LIMITS),
    ("p95 authorisation latency is 450 ms, so retries wait 2 seconds.", API),
    ("The API runs 12 instances in production.", API),
    ("System: Ledger backups; Owning team: Storage; Retention: 30 days", API),
    ("Idempotency keys are kept for 24 hours.", API),
]


def all_claims() -> list[Claim]:
    return [c for t, w in SENTENCES for c in read(t, w)]


def test_the_same_fact_gives_the_same_claims() -> None:
    first = all_claims()
    assert len(first) > len(SENTENCES)  # clauses and rows are split, not read whole
    assert all_claims() == first


_PROGRAM = """
from companion.conflicts.claims import claims
import sys
for line in sys.stdin.read().splitlines():
    text, page, title = line.split("\\t")
    print(repr(claims(text, page, title)))
"""


def test_claims_do_not_depend_on_the_hash_seed() -> None:
    """Sets are used inside; the outcome must not follow Python's per-process string hashing."""
    stdin = "".join(f"{t}\t{w[0]}\t{w[1]}\n" for t, w in SENTENCES)
    outputs = []
    for seed in ("1", "2", "3"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run(
            [sys.executable, "-c", _PROGRAM],
            input=stdin,
            capture_output=True,
            text=True,
            env=env,
            check=True,
        )
        outputs.append(done.stdout)
    assert outputs[0] == outputs[1] == outputs[2]
    assert outputs[0].count("Claim(") == len(all_claims())


def test_a_table_row_whose_first_cell_states_something_is_a_claim_too() -> None:
    row = "- Risk: Cranes do not wait for the wind reading; Owner: Ada Quay; Action: Review ([[wiki/sources/a]])."
    found = read(row)
    assert [c.text for c in found] == [
        "Cranes do not wait for the wind reading",
        "Owner: Ada Quay",
        "Action: Review",
    ]
    assert found[0].polarity is False and found[0].row == "cranes do not wait for the wind reading"
    named = read("- Risk: Single region (eu-west-1); Owner: Ada Quay ([[wiki/sources/a]]).")
    assert [c.text for c in named] == ["Owner: Ada Quay"]  # a cell that only names a thing


def test_a_first_cell_asking_or_requiring_states_nothing() -> None:
    asked = read(
        "- Question: Is the ledger replicated across regions?; Answer: no ([[wiki/sources/a]])."
    )
    assert [c.text for c in asked] == ["Answer: no"]
    required = read(
        "- Requirement: Backups must be encrypted at rest; Owner: Ada Quay ([[wiki/sources/a]])."
    )
    assert [c.text for c in required] == ["Owner: Ada Quay"]


def test_a_first_cell_with_a_modal_late_in_it_still_states_something() -> None:
    row = "- Risk: Cranes do not wait for the wind reading, which the yard should fix; Owner: Ada Quay ([[wiki/sources/a]])."
    assert read(row)[0].text.startswith("Cranes do not wait")
    longer = (
        "- Risk: Cranes no longer wait for the wind reading; Owner: Ada Quay ([[wiki/sources/a]])."
    )
    assert read(longer)[0].text == "Cranes no longer wait for the wind reading"
