"""Claims read from facts: subject, attribute, scope, change, and which claims are comparable.

Every sentence here is written for these tests (a payments and infrastructure domain); none is
taken from an evaluation corpus.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys

import pytest

from companion.conflicts.claims import Claim, claim, comparable, index_key

LEDGER = ("wiki/entities/Ledger Service.md", "Ledger Service")
LIMITS = ("wiki/concepts/Rate Limits.md", "Rate Limits")
API = ("wiki/entities/Payments API.md", "Payments API")


def make(text: str, where: tuple[str, str] = LEDGER) -> Claim:
    """The claim of `text` on the page `where` (the test fails if there is none)."""
    c = claim(text, where[0], where[1])
    assert c is not None, text
    return c


def shares_key(a: Claim, b: Claim) -> bool:
    return bool(set(index_key(a)) & set(index_key(b)))


# ---- text, citation, block id ----------------------------------------------------------------


def test_citation_block_id_and_bullet_are_stripped_and_sources_kept() -> None:
    c = make(
        "- The ledger runs PostgreSQL 15 ([[wiki/sources/arch-review-2025]], "
        "[[wiki/sources/db-runbook]]). ^i-1a2b3c4d"
    )
    assert c.text == "The ledger runs PostgreSQL 15."
    assert c.sources == ("wiki/sources/arch-review-2025", "wiki/sources/db-runbook")
    assert c.page == "wiki/entities/Ledger Service.md"
    assert "wiki" not in c.attribute and "i-1a2b3c4d" not in c.attribute
    assert all("[[" not in v.raw for v in c.values)


def test_a_fact_without_citation_has_no_sources() -> None:
    assert make("The ledger runs PostgreSQL 15.").sources == ()


def test_value_offsets_refer_to_the_claim_text() -> None:
    c = make("- Webhooks are retried 8 times ([[wiki/sources/webhook-spec]]). ^i-0badf00d")
    assert [c.text[v.start : v.end] for v in c.values] == [v.raw for v in c.values]


# ---- None: nothing comparable ----------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "The ledger team owns the reconciliation dashboard.",
        "Payouts read balances from the primary database ([[wiki/sources/x]]). ^i-1a2b3c4d",
        "See the runbook for details.",
        "",
    ],
)
def test_a_fact_with_no_value_and_no_boolean_statement_is_none(text: str) -> None:
    assert claim(text, *LEDGER) is None


# ---- subject ---------------------------------------------------------------------------------


def test_subject_is_the_page_title_when_the_fact_names_no_other_thing() -> None:
    assert make("The ledger runs PostgreSQL 15.").subject == "ledger service"
    assert make("Nightly reconciliation runs at 03:00 UTC.").subject == "ledger service"


def test_a_name_in_subject_position_that_is_the_title_is_the_title() -> None:
    assert make("The Ledger Service posts 4 million entries a day.").subject == "ledger service"


def test_a_product_with_a_version_is_not_the_subject() -> None:
    assert make("PostgreSQL 15 is the ledger's database engine.").subject == "ledger service"


def test_title_suffix_in_parentheses_is_dropped() -> None:
    c = make("Keys are kept for 24 hours.", ("wiki/concepts/Idempotency (concept).md",
                                              "Idempotency (concept)"))  # fmt: skip
    assert c.subject == "idempotency"


def test_rate_limits_of_two_named_services_are_not_comparable() -> None:
    a = make("The Payments API allows 100 requests per second.", LIMITS)
    b = make("The CardNet Gateway's limit is 200 requests per second.", LIMITS)
    assert a.subject == "payments api"
    assert b.subject == "cardnet gateway"
    assert not comparable(a, b)
    assert not shares_key(a, b)


def test_the_same_named_service_on_two_pages_is_comparable() -> None:
    a = make("The Payments API allows 100 requests per second.", LIMITS)
    b = make("The Payments API allows 250 requests per second.", API)
    assert a.subject == b.subject == "payments api"
    assert comparable(a, b)


# ---- attribute -------------------------------------------------------------------------------


def test_attribute_of_a_version_is_version_and_the_product() -> None:
    assert make("The ledger runs PostgreSQL 15.").attribute == ("postgresql", "version")


def test_attribute_keeps_content_words_stemmed_without_values_and_stop_words() -> None:
    c = make("Idempotency keys are kept for 24 hours.", API)
    assert c.attribute == ("idempotency", "keep", "key")


def test_attribute_of_a_count_holds_the_counted_noun() -> None:
    assert "replica" in make("pg-journal runs two streaming replicas.").attribute


def test_attribute_is_sorted_and_without_the_title_words() -> None:
    c = make("The ledger settles card payments within 2 days.")
    assert list(c.attribute) == sorted(c.attribute)
    assert "ledger" not in c.attribute and "servic" not in c.attribute


# ---- comparable: versions, values, attributes ------------------------------------------------


def test_two_versions_of_the_same_product_on_one_page_are_comparable() -> None:
    a = make("The ledger runs PostgreSQL 15 ([[wiki/sources/a]]). ^i-1a2b3c4d")
    b = make("The ledger database was upgraded to PostgreSQL 16 ([[wiki/sources/b]]).")
    assert comparable(a, b) and comparable(b, a)
    assert shares_key(a, b)


def test_versions_of_different_products_are_not_comparable() -> None:
    a = make("The ledger runs PostgreSQL 15.")
    b = make("The ledger runs Kafka 3.6.")
    assert not comparable(a, b)


def test_values_of_kinds_that_cannot_be_compared_are_not_comparable() -> None:
    a = make("Authorisation latency is 120 ms.", API)
    b = make("Authorisation latency is 4%.", API)
    assert a.attribute == b.attribute
    assert not comparable(a, b)


def test_facts_about_different_attributes_are_not_comparable() -> None:
    a = make("Webhooks time out after 30 seconds.", API)
    b = make("Refund requests expire after 90 days.", API)
    assert not comparable(a, b)


def test_a_different_verb_for_a_scheduled_time_still_compares() -> None:
    a = make("Nightly reconciliation runs at 03:00 UTC.")
    b = make("Reconciliation starts at 04:00 UTC.")
    assert comparable(a, b)


# ---- scope -----------------------------------------------------------------------------------


def test_p50_and_p95_latency_are_not_comparable() -> None:
    a = make("p50 authorisation latency is 120 ms.", API)
    b = make("p95 authorisation latency is 450 ms.", API)
    assert a.attribute == b.attribute
    assert a.scope == ("stat:median",) and b.scope == ("stat:p95",)
    assert not comparable(a, b)
    assert not shares_key(a, b)


def test_median_and_p50_are_one_scope() -> None:
    a = make("p50 authorisation latency is 120 ms.", API)
    b = make("Median authorisation latency is 140 ms.", API)
    assert a.scope == b.scope
    assert comparable(a, b)


def test_a_percentile_written_out_is_that_percentile() -> None:
    assert make("The 95th percentile latency is 450 ms.", API).scope == ("stat:p95",)


def test_production_and_test_instance_counts_are_not_comparable() -> None:
    a = make("The API runs 12 instances in production.", API)
    b = make("The API runs 2 instances in the test environment.", API)
    c = make("Production has 10 instances of the API.", API)
    assert a.scope == ("env:production",) and b.scope == ("env:test",)
    assert not comparable(a, b)
    assert comparable(a, c)


def test_per_merchant_and_per_account_limits_are_not_comparable() -> None:
    a = make("Refunds are limited to 50 requests per minute per merchant.", API)
    b = make("Refunds are limited to 20 requests per minute per account.", API)
    assert a.scope == ("per:merchant",) and b.scope == ("per:account",)
    assert not comparable(a, b)


def test_per_time_is_a_rate_not_a_scope() -> None:
    assert make("Refunds are limited to 50 requests per minute.", API).scope == ()


def test_contractual_and_internal_targets_are_different_scopes() -> None:
    a = make("The contractual uptime is 99.9%.", API)
    b = make("The internal uptime objective is 99.95%.", API)
    assert not comparable(a, b)


def test_weekday_and_weekend_schedules_are_different_scopes() -> None:
    a = make("Payouts run at 09:00 UTC on weekdays.", ("wiki/entities/Payouts.md", "Payouts"))
    b = make("Payouts run at 11:00 UTC on weekends.", ("wiki/entities/Payouts.md", "Payouts"))
    assert a.scope == ("period:weekday",) and b.scope == ("period:weekend",)
    assert not comparable(a, b)


# ---- booleans and polarity -------------------------------------------------------------------


def test_negated_boolean_is_comparable_with_its_assertion_and_polarity_differs() -> None:
    a = make("The primary is not replicated synchronously.")
    b = make("The primary is replicated synchronously.")
    assert a.polarity is False and b.polarity is True
    assert [v.kind for v in a.values] == ["boolean"]
    assert a.values[0].truth is False and b.values[0].truth is True
    assert a.attribute == b.attribute
    assert comparable(a, b)


def test_a_modal_statement_is_a_boolean_claim() -> None:
    a = make("Card refunds can be reversed.", API)
    b = make("Card refunds cannot be reversed.", API)
    assert a.polarity and not b.polarity
    assert comparable(a, b)


def test_an_enabled_flag_is_compared_through_its_boolean_value() -> None:
    a = make("Strong customer authentication is enabled.", API)
    b = make("Strong customer authentication is disabled.", API)
    assert comparable(a, b)
    assert a.values[-1].truth is True and b.values[-1].truth is False


def test_different_boolean_properties_are_not_comparable() -> None:
    a = make("The primary is replicated synchronously.")
    b = make("Journal entries are encrypted at rest.")
    assert not comparable(a, b)


# ---- change ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "pg-journal was upgraded from PostgreSQL 14 to 15.",
        "Settlement time was reduced from 20 to 8 minutes.",
        "Card tokens moved from the old vault to the new one in 2 weeks.",
        "The ledger has used PostgreSQL 15 since 8 October 2024.",
        "Settlement files are no longer sent by email.",
        "Retries were 3 and are now 5.",
        "The API previously allowed 50 requests per second.",
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
    ],
)
def test_a_plain_statement_is_not_a_change(text: str) -> None:
    assert make(text).change is False


def test_a_change_and_a_static_fact_about_one_version_are_comparable() -> None:
    a = make("pg-journal was upgraded from PostgreSQL 14 to 15.")
    b = make("pg-journal runs PostgreSQL 13.")
    assert comparable(a, b)


# ---- index keys ------------------------------------------------------------------------------


SENTENCES = [
    ("The ledger runs PostgreSQL 15.", LEDGER),
    ("The ledger database was upgraded to PostgreSQL 16.", LEDGER),
    ("pg-journal runs two streaming replicas.", LEDGER),
    ("pg-journal runs three replicas.", LEDGER),
    ("The primary is not replicated synchronously.", LEDGER),
    ("The primary is replicated synchronously.", LEDGER),
    ("Nightly reconciliation runs at 03:00 UTC.", LEDGER),
    ("Reconciliation starts at 04:00 UTC.", LEDGER),
    ("The Payments API allows 100 requests per second.", LIMITS),
    ("The CardNet Gateway's limit is 200 requests per second.", LIMITS),
    ("The Payments API allows 250 requests per second.", API),
    ("p50 authorisation latency is 120 ms.", API),
    ("Median authorisation latency is 140 ms.", API),
    ("p95 authorisation latency is 450 ms.", API),
    ("The API runs 12 instances in production.", API),
    ("Production has 10 instances of the API.", API),
    ("The API runs 2 instances in the test environment.", API),
    ("Idempotency keys are kept for 24 hours.", API),
    ("Idempotency keys are kept for 48 hours.", API),
]


def all_claims() -> list[Claim]:
    return [make(t, w) for t, w in SENTENCES]


def test_every_comparable_pair_shares_an_index_key() -> None:
    claims = all_claims()
    pairs = [(a, b) for a, b in itertools.combinations(claims, 2) if comparable(a, b)]
    assert len(pairs) >= 8  # the property is tested on real pairs, not vacuously
    for a, b in pairs:
        assert shares_key(a, b), (a.text, b.text)


def test_index_keys_name_subject_scope_and_one_attribute_word() -> None:
    c = make("p95 authorisation latency is 450 ms.", API)
    assert index_key(c) == (
        "payments api\x1fstat:p95\x1fauthorisation",
        "payments api\x1fstat:p95\x1flatency",
    )


def test_comparable_is_symmetric() -> None:
    claims = all_claims()
    for a, b in itertools.product(claims, repeat=2):
        assert comparable(a, b) == comparable(b, a)


# ---- determinism -----------------------------------------------------------------------------


def test_the_same_fact_gives_the_same_claim() -> None:
    first = all_claims()
    assert all_claims() == first
    assert [index_key(c) for c in first] == [index_key(c) for c in all_claims()]


_PROGRAM = """
from companion.conflicts.claims import claim, index_key
import sys
for line in sys.stdin.read().splitlines():
    text, page, title = line.split("\\t")
    c = claim(text, page, title)
    print(repr(c), index_key(c) if c else None)
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
    assert outputs[0].count("Claim(") == len(SENTENCES)


def test_a_denial_without_copula_is_a_boolean_claim() -> None:
    c = make("There have been no failed payouts since the scheduler moved to UTC.")
    assert c.polarity is False
    assert [(v.kind, v.truth) for v in c.values] == [("boolean", False)]


def test_a_bound_up_to_after_a_verb_is_not_a_change() -> None:
    assert make("The replicas fell up to 14 minutes behind the primary.").change is False


def test_a_month_left_of_an_unread_date_is_not_an_attribute_word() -> None:
    c = make("The ledger has stored 3 replicas in PostgreSQL since April 2024.")
    assert "april" not in c.attribute


def test_enabled_and_disabled_state_one_attribute() -> None:
    a = make("3-D Secure challenges are enabled for card payments.", API)
    b = make("3-D Secure challenges are disabled for card payments.", API)
    assert a.attribute == b.attribute
    assert "enabled" in a.attribute


def test_a_yes_or_no_flag_adds_no_attribute_word() -> None:
    assert make("Automatic retries: yes", API).attribute == ("automatic", "retry")


def test_words_with_non_ascii_letters_are_kept_whole() -> None:
    assert make("The Zürich region hosts 3 replicas.").subject == "zürich"
    assert "façad" in make("Payments are cleared through the façade within 2 seconds.").attribute
