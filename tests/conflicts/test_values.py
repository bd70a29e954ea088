"""Values read from facts' text: their kinds, normal forms, bounds, comparisons and polarity.

Every sentence here is written for these tests (a payments and infrastructure domain); none is
taken from an evaluation corpus.
"""

from __future__ import annotations

import datetime
import itertools

import pytest

from companion.conflicts import values as values_module
from companion.conflicts.values import Value, compatible, polarity, same_value, values


def one(text: str) -> Value:
    """The single value in `text` (the test fails if there are more or none)."""
    found = values(text)
    assert len(found) == 1, [(v.kind, v.raw) for v in found]
    return found[0]


def raws(text: str) -> list[str]:
    return [v.raw for v in values(text)]


# ---- spans, order, markup --------------------------------------------------------------------

SENTENCES = [
    "Each merchant account may submit at most 500 requests per second to the acquiring gateway.",
    "Chargeback evidence is retained for 14 days, then archived to 1.2 PB of cold storage.",
    "The ledger runs PostgreSQL 15 on three replicas since 8 October 2024.",
    "The nightly batch opens at 03:00 UTC and must finish by 06:05 UTC.",
    "The interchange fee is £0.62 per transaction, about 4.1 million transactions a month.",
    "Refunds settle in 2–4 business days; availability is at least 99.95% per month.",
    "| Automatic failover | No |",
    "The tokenisation service runs on vSphere 8.0 U2 with SQL Server 2019 and 5 brokers.",
]


@pytest.mark.parametrize("text", SENTENCES)
def test_every_value_is_its_span_in_order_without_overlaps(text: str) -> None:
    found = values(text)
    assert found
    for v in found:
        assert text[v.start : v.end] == v.raw
    for a, b in itertools.pairwise(found):
        assert a.end <= b.start


def test_reading_is_deterministic() -> None:
    text = " ".join(SENTENCES)
    first = values(text)
    assert all(values(text) == first for _ in range(3))
    assert [polarity(s) for s in SENTENCES] == [polarity(s) for s in SENTENCES]


def test_a_citation_and_a_block_id_hold_no_values() -> None:
    text = (
        "- The settlement ledger runs PostgreSQL 14 in production "
        "([[wiki/sources/ledger-review-2024-10-08]]). ^i-3fa91c07"
    )
    v = one(text)
    assert (v.kind, v.version, v.unit) == ("version", (14,), "postgresql")


def test_a_markdown_links_destination_and_a_url_hold_no_values() -> None:
    text = "Limits are in [the limits spec](https://example.test/v2/limits-2024-01-05.pdf)."
    assert raws(text) == []
    assert raws("Docs: https://example.test/api/v3/rate-limits/500") == []


def test_prose_that_merely_looks_like_dates_gives_no_date() -> None:
    # dateparser finds "may" and "a day" here as dates relative to today; these are not dates.
    found = values("Each terminal may retry a day later, or on Tuesday evening.")
    assert [v.kind for v in found] == ["quantity"]  # "a day": one day
    assert found[0].magnitude == 86400


# ---- durations, data sizes, rates ------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("retained for 14 days", "retained for a fortnight"),
        ("retained for a fortnight", "retained for 2 weeks"),
        ("retained for two weeks", "retained for fourteen days"),
        ("failover takes 90 minutes", "failover takes an hour and a half"),
        ("failover takes 90 minutes", "failover takes 1.5 h"),
        ("failover takes 1h30", "failover takes 1 hour 30 minutes"),
        ("failover takes one and a half hours", "failover takes 5,400 seconds"),
        ("backoff of half an hour", "backoff of 30 min"),
        ("a quarter of an hour", "15 minutes"),
        ("a 30-second timeout", "a timeout of 30,000 ms"),
        ("the archive holds 1.2 PB", "the archive holds 1,200 TB"),
        ("a 512 MiB limit", "a 536,870,912 byte limit"),
        ("500 requests per second", "30,000 requests per minute"),
        ("500 req/s", "500 TPS"),
        ("twice a day", "14 times per week"),
        ("a 10 Gbps link", "a 1,250 MB/s link"),
        ("2 TB per day", "2,000,000,000,000 bytes a day"),
    ],
)
def test_quantities_that_are_equal_after_normalisation(a: str, b: str) -> None:
    va, vb = one(a), one(b)
    assert same_value(va, vb) is True
    assert compatible(va, vb) is True


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("retained for 14 days", "retained for 30 days"),
        ("failover takes 90 minutes", "failover takes 2 hours"),
        ("a 1 KiB record", "a 1 KB record"),  # binary and decimal prefixes are not the same
        ("500 requests per second", "800 requests per second"),
    ],
)
def test_quantities_that_differ(a: str, b: str) -> None:
    assert same_value(one(a), one(b)) is False
    assert compatible(one(a), one(b)) is False


def test_durations_are_seconds_and_sizes_are_bytes() -> None:
    assert (one("3 days").magnitude, one("3 days").unit) == (259200.0, "s")
    assert (one("250 ms").magnitude, one("250 ms").unit) == (0.25, "s")
    assert (one("2 GiB").magnitude, one("2 GiB").unit) == (2 * 1024**3, "B")
    assert (one("2 GB").magnitude, one("2 GB").unit) == (2e9, "B")
    rate = one("10,000 transactions a day")
    assert rate.unit == "1/s"
    assert rate.magnitude == pytest.approx(10_000 / 86_400)
    assert one("50 MB/s").unit == "B/s"


def test_a_calendar_month_and_year_cover_their_real_lengths() -> None:
    assert same_value(one("kept for 1 month"), one("kept for 30 days")) is True
    assert same_value(one("kept for a month"), one("kept for 28 days")) is True
    assert same_value(one("kept for 12 months"), one("kept for 1 year")) is True
    assert same_value(one("kept for 6 months"), one("kept for 182 days")) is True
    assert same_value(one("kept for 1 month"), one("kept for 45 days")) is False
    assert same_value(one("kept for 7 years"), one("kept for 5 years")) is False


def test_business_days_and_calendar_days_are_not_compared() -> None:
    assert same_value(one("settles in 3 business days"), one("settles in 3 days")) is None


def test_different_dimensions_are_not_comparable() -> None:
    size, duration = one("a 512 MiB limit"), one("a 30-second limit")
    assert same_value(size, duration) is None
    assert compatible(size, duration) is None
    assert same_value(one("500 requests per second"), one("50 MB/s")) is None


def test_temperatures_read_in_celsius() -> None:
    assert same_value(one("the hall stays at 27 °C"), one("the hall stays at 80.6 °F")) is True


# ---- money, percentages ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("a fee of £0.62", "a fee of 62p"),
        ("a fee of £0.78", "a fee of 78 pence"),
        ("revenue of €2.3M", "revenue of 2,300,000 EUR"),
        ("revenue of €2.3 million", "revenue of EUR 2.3M"),
        ("a budget of $1.5bn", "a budget of US$1,500 million"),
        ("£5 a month", "£60 per year"),
        ("a fee of 25 basis points", "a fee of 0.25%"),
        ("99.95 percent", "99.95%"),
    ],
)
def test_money_and_percentages_that_are_equal(a: str, b: str) -> None:
    assert same_value(one(a), one(b)) is True


def test_money_is_in_minor_units_of_its_currency() -> None:
    fee = one("The scheme fee is £0.62 per transaction.")
    assert (fee.kind, fee.magnitude, fee.unit) == ("money", 62.0, "GBP")
    assert same_value(one("a fee of £0.62"), one("a fee of €0.62")) is None
    assert same_value(one("a fee of £0.62"), one("a fee of 68p")) is False


def test_percentage_points_are_not_percents() -> None:
    assert same_value(one("up 2 percentage points"), one("up 2%")) is None


# ---- counts ----------------------------------------------------------------------------------


def test_counts_carry_the_thing_counted() -> None:
    replicas = one("The ledger has three replicas.")
    assert (replicas.kind, replicas.magnitude, replicas.unit) == ("count", 3.0, "replica")
    assert same_value(replicas, one("The ledger has 3 synchronous replicas.")) is True
    assert same_value(replicas, one("The ledger has 5 replicas.")) is False
    assert same_value(replicas, one("The cluster has 3 brokers.")) is None
    assert one("Six engineers are on call.").unit == "engineer"
    assert one("The region has two availability zones.").unit == "zone"
    assert one("There is one primary database.").unit == "database"
    assert one("The team is a dozen engineers.").magnitude == 12.0
    assert one("The pool adds three new replicas.").unit == "replica"
    assert one("We issue 3 tokens per session.").unit == "token"


def test_numbers_with_separators_and_scales() -> None:
    assert same_value(one("a cache of 2,000 entries"), one("a cache of 2000 entries")) is True
    assert same_value(one("up to 2,000"), one("up to 2000")) is True
    assert one("2.3M transactions").magnitude == 2_300_000.0
    assert one("4.1 million transactions").magnitude == 4_100_000.0
    assert one("10k messages").magnitude == 10_000.0
    assert one("one hundred and five terminals").magnitude == 105.0
    assert one("twenty-four hours").magnitude == 86_400.0


def test_a_bare_number_compares_only_with_a_bare_number() -> None:
    assert same_value(one("The limit is 500."), one("The limit is 500 requests.")) is None
    assert same_value(one("The limit is 500."), one("The limit is 800.")) is False


# ---- dates and times -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "The cutover was on 2024-10-08.",
        "The cutover was on 8 October 2024.",
        "The cutover was on 8th of Oct. 2024.",
        "The cutover was on October 8, 2024.",
        "The cutover was on Tuesday 8 October 2024.",
        "The cutover was on 2024/10/08.",
    ],
)
def test_dates_in_every_written_form(text: str) -> None:
    v = one(text)
    assert (v.kind, v.date) == ("date", datetime.date(2024, 10, 8))


def test_a_date_with_the_wrong_weekday_is_skipped() -> None:
    assert values("The freeze starts on Monday 8 October 2024.") == []  # it was a Tuesday
    assert one("The freeze starts on Saturday 11 October 2025.").date == datetime.date(2025, 10, 11)


@pytest.mark.parametrize(
    "text",
    [
        "The migration completes in October 2024.",
        "The migration completes in Q1 2025.",
        "Targets for FY2025 and 2024-25 are set.",
        "The report is dated 08/10/2024.",
        "The freeze starts on 8 October.",
        "Costs rose in the 1990s and again in mid-2025.",
        "The ledger moved in 2019.",
        "The 30 February 2024 deadline is impossible.",
    ],
)
def test_date_like_text_that_names_no_single_day_gives_nothing(text: str) -> None:
    assert values(text) == []


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("opens at 03:00 UTC", "opens at 3 am UTC"),
        ("opens at 03:00 UTC", "opens at 0300 UTC"),
        ("opens at 03:00 UTC", "opens at 04:00 BST"),
        ("opens at 03:00 UTC", "opens at 05:00 UTC+2"),
        ("closes at 4 pm", "closes at 16:00"),
        ("closes at 4 PM", "closes at 4 p.m."),
        ("closes at noon", "closes at 12:00"),
    ],
)
def test_times_of_day_that_are_equal(a: str, b: str) -> None:
    va, vb = one(a), one(b)
    assert va.kind == vb.kind == "time"
    assert same_value(va, vb) is True


def test_a_time_without_a_zone_does_not_compare_with_one_that_has_one() -> None:
    assert same_value(one("opens at 06:05"), one("opens at 06:05 UTC")) is None
    assert same_value(one("opens at 06:05"), one("opens at 06:35")) is False
    assert same_value(one("closes at 4 pm ET"), one("closes at 16:00 UTC")) is None


def test_a_window_is_two_bounds_with_the_zone_of_both() -> None:
    start, end = values("Maintenance runs between 01:00 and 03:00 UTC.")
    assert (start.bound, start.unit, start.magnitude) == ("ge", "UTC", 3600.0)
    assert (end.bound, end.unit, end.magnitude) == ("le", "UTC", 10800.0)
    assert compatible(start, one("It is down at 02:00 UTC.")) is True
    assert compatible(end, one("It is down at 04:30 UTC.")) is False


# ---- versions --------------------------------------------------------------------------------


def test_a_number_after_a_product_name_is_a_version() -> None:
    pg = one("The ledger runs PostgreSQL 15.")
    assert (pg.kind, pg.unit, pg.version) == ("version", "postgresql", (15,))
    assert same_value(pg, one("The ledger runs PostgreSQL 14.")) is False
    assert compatible(pg, one("The ledger runs PostgreSQL 14.")) is False
    assert one("Hosts run Windows 11.").version == (11,)
    assert one("Hosts run vSphere 8.0 U2.").version == (8, 0, 2)
    assert one("The API v4.2 is current.").version == (4, 2)
    assert one("Cards are checked against PCI DSS 4.0.").unit == "pci dss"
    floor = values("Versions 1.25.3 and later are supported.")[0]
    assert (floor.unit, floor.version, floor.bound) == (None, (1, 25, 3), "ge")


def test_a_year_after_a_product_is_a_version_and_after_a_preposition_is_nothing() -> None:
    sql = one("Reporting runs on SQL Server 2019.")
    assert (sql.kind, sql.unit, sql.version) == ("version", "sql server", (2019,))
    assert values("Reporting moved to the cloud in 2019.") == []
    assert values("Since 2021 the gateway is active-active.") == []


def test_versions_of_different_products_are_not_compared() -> None:
    assert same_value(one("runs PostgreSQL 15"), one("runs Windows 11")) is None
    assert same_value(one("runs SQL Server 2019"), one("runs Microsoft SQL Server 2019")) is True


def test_a_major_version_is_compatible_with_its_minors() -> None:
    major, minor = one("runs PostgreSQL 15"), one("runs PostgreSQL 15.7")
    assert same_value(major, minor) is False
    assert compatible(major, minor) is True
    assert same_value(one("SDK v4.2"), one("SDK v4.2.0")) is True


def test_a_version_range_continues_the_product() -> None:
    found = values("The ledger upgrade goes from PostgreSQL 14 to 15 in March.")
    assert [(v.unit, v.version) for v in found] == [("postgresql", (14,)), ("postgresql", (15,))]
    tls = values("TLS 1.0 and 1.1 are disabled; 3 replicas stay.")
    assert [v.kind for v in tls] == ["version", "version", "boolean", "count"]


def test_a_version_floor() -> None:
    floor = one("Clients must use TLS 1.2+.")
    assert floor.bound == "ge"
    assert compatible(floor, one("The client uses TLS 1.3.")) is True
    assert compatible(floor, one("The client uses TLS 1.1.")) is False
    assert one("Requires Java 17 or later.").bound == "ge"


def test_a_number_with_a_unit_after_a_capitalised_word_is_a_quantity() -> None:
    v = one("Retention 30 days for dispute files.")
    assert (v.kind, v.magnitude) == ("quantity", 30 * 86400.0)


# ---- bounds ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "bound"),
    [
        ("may submit at most 500 requests", "le"),
        ("may submit up to 2,000 requests", "le"),
        ("may submit no more than 500 requests", "le"),
        ("must not exceed 500 requests", "le"),
        ("peak load doesn't exceed 2,000 TPS", "le"),
        ("completes within 90 minutes", "le"),
        ("completes in less than 2 seconds", "lt"),
        ("completes in under 2 seconds", "lt"),
        ("must be at least 95%", "ge"),
        ("must be no less than 95%", "ge"),
        ("serves more than 500 merchants", "gt"),
        ("serves over 500 merchants", "gt"),
        ("serves about 4.1 million cardholders", "approx"),
        ("serves roughly 40 merchants", "approx"),
        ("12 characters or more", "ge"),
        ("3 retries or fewer", "le"),
        ("must be signed by 8 October 2024", "le"),
        ("must not start before 01:00", "lt"),
        ("opens after 22:00", "gt"),
        ("data older than 18 months", "gt"),
        ("serves 500 merchants", "eq"),
    ],
)
def test_bounds_are_read_around_the_value(text: str, bound: str) -> None:
    assert one(text).bound == bound


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("availability of at least 95%", "availability of 98.6%", True),
        ("availability of at least 99.9%", "availability of 99.5%", False),
        ("at least 12 characters", "15 characters", True),
        ("at least 12 characters", "8 characters", False),
        ("at most 500 requests per second", "800 requests per second", False),
        ("at most 500 requests per second", "500 requests per second", True),
        ("less than 500 requests per second", "500 requests per second", False),
        ("about 4.1 million cardholders", "4.3 million cardholders", True),
        ("about 4.1 million cardholders", "5 million cardholders", False),
        ("more than 500 merchants", "at most 500 merchants", False),
        ("at least 500 merchants", "at most 500 merchants", True),
        ("within 2 hours", "90 minutes", True),
        ("signed by 8 October 2024", "signed on 2024-10-01", True),
        ("signed before 8 October 2024", "signed on 2024-10-08", False),
        ("kept for up to 1 month", "kept for 31 days", True),
    ],
)
def test_compatible_asks_whether_both_can_be_true(a: str, b: str, expected: bool) -> None:
    assert compatible(one(a), one(b)) is expected
    assert compatible(one(b), one(a)) is expected


def test_a_bound_is_part_of_the_value_stated() -> None:
    at_most, exactly = one("at most 500 requests"), one("500 requests")
    assert same_value(at_most, exactly) is False
    assert same_value(at_most, one("up to 500 requests")) is True
    assert same_value(one("about 4.1 million cards"), one("4.1 million cards")) is True


@pytest.mark.parametrize(
    ("text", "low", "high", "unit"),
    [
        ("Refunds settle in 2–4 business days.", 2.0, 4.0, "business day"),
        ("Recovery takes between 2 and 4 hours.", 7200.0, 14400.0, "s"),
        ("The pool scales from 3 to 5 nodes.", 3.0, 5.0, "node"),
        ("Approval rates are 95-99%.", 95.0, 99.0, "%"),
        ("Plans cost £5–£10 a month.", 500 / (30.4375 * 86400), 1000 / (30.4375 * 86400), "GBP/s"),
        ("Funding is €2–3M.", 200_000_000.0, 300_000_000.0, "EUR"),
    ],
)
def test_a_range_is_a_floor_and_a_ceiling(text: str, low: float, high: float, unit: str) -> None:
    first, second = values(text)
    assert (first.bound, second.bound) == ("ge", "le")
    assert first.magnitude == pytest.approx(low)
    assert second.magnitude == pytest.approx(high)
    assert first.unit == second.unit == unit


# ---- polarity and booleans -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "asserts"),
    [
        ("The card vault is not replicated.", False),
        ("The gateway has never had automatic failover.", False),
        ("The terminal app has no offline mode.", False),
        ("The ledger is replicated synchronously.", True),
        ("Settlement isn't automated.", False),
        ("The HSM cannot be reached from the DMZ.", False),
        ("The old acquirer is no longer used.", False),
        ("Payouts run without manual review.", False),
        ("| Standby | None |", False),
        ("Each MID may submit no more than 500 requests per second.", True),
        ("Peak load does not exceed 2,000 TPS.", True),
        ("Not only cards but also wallets are accepted.", True),
        ("Refunds are batched, whether or not the merchant asks.", True),
        ("Rule No. 5 applies to every merchant.", True),
    ],
)
def test_polarity(text: str, asserts: bool) -> None:
    assert polarity(text) is asserts


def test_polarity_ignores_negation_inside_a_citation() -> None:
    assert polarity("The vault is encrypted ([[wiki/sources/not-replicated-notes]]).") is True


@pytest.mark.parametrize(
    ("text", "truth"),
    [
        ("| Automatic failover | No |", False),
        ("| Automatic failover | Yes |", True),
        ("Replication: yes.", True),
        ("MFA is enabled for every operator.", True),
        ("MFA is disabled for service accounts.", False),
        ("MFA is not enabled for service accounts.", False),
        ("Contactless is not supported on the legacy terminals.", False),
    ],
)
def test_booleans_take_the_sentences_polarity(text: str, truth: bool) -> None:
    v = one(text)
    assert (v.kind, v.truth) == ("boolean", truth)


def test_booleans_compare_their_truth() -> None:
    yes, no = one("| Failover | Yes |"), one("| Failover | No |")
    assert same_value(yes, no) is False
    assert compatible(yes, one("Failover is enabled.")) is True


# ---- what is skipped, not guessed ------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Tokens are hashed with SHA-256 and checked with 3DS2.",
        "The p99 latency rose at 2x load.",
        "See section 4.2 and step 3 of the runbook, ticket #4521.",
        "The VPN endpoint is 10.0.0.1 and support runs 24/7 at a 3:1 ratio.",
        "Settlement is T+1 for the 1st cohort.",
        "The limit is 5m per day.",  # minutes, metres or millions?
        "Fees are 30 bps and 5 cents.",  # basis points or bits? euro or dollar cents?
        "One of the nodes failed; the two others stayed up.",
        "A second data centre is planned.",
        "Only a few engineers have access.",
        "Two-factor authentication uses one-time codes.",
        "The agent banner reads 1.25.3 today.",  # a dotted number of no product
    ],
)
def test_values_not_understood_are_skipped(text: str) -> None:
    assert values(text) == []


def test_values_of_different_kinds_are_not_comparable() -> None:
    date, count = one("on 2024-10-08"), one("8 merchants")
    assert same_value(date, count) is None
    assert compatible(date, count) is None
    assert same_value(one("runs PostgreSQL 15"), one("15 replicas")) is None


def test_every_pattern_compiles_without_a_warning() -> None:
    # Patterns compile on first use (warnings are errors here); a text that never reaches one
    # would hide a broken one, so compile them all.
    patterns: list[values_module._Lazy] = []
    for v in vars(values_module).values():
        items = v if isinstance(v, list) else [v]
        for item in items:
            if isinstance(item, tuple) and len(item) == 2:
                item = item[1]
            if isinstance(item, values_module._Lazy):
                patterns.append(item)
    assert len(patterns) > 50
    assert all(p.compiled.pattern for p in patterns)
