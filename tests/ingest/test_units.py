"""`units`: a converted source cut into sentences, list items and table rows with exact spans."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import pytest

from companion.convert import convert
from companion.ingest.neutral import neutralise
from companion.ingest.result import Converted, Format
from companion.ingest.units import Unit, table_rows, unit_at, units

VAULT_SOURCES = Path(__file__).resolve().parents[2] / "vault" / "sources"


def md(text: str) -> Converted:
    return Converted(text, "markdown")


def txt(text: str) -> Converted:
    return Converted(text, "text")


def texts(source: Converted) -> list[str]:
    return [unit.text for unit in units(source)]


def assert_spans_exact(source: Converted) -> None:
    for unit in units(source):
        span = source.text[unit.start : unit.end]
        assert span == span.strip(), unit
        if unit.kind != "row":
            assert neutralise(span) == unit.text, unit
        for bad in ("[[", "]]", "%%", "\n"):
            assert bad not in unit.text, unit


# -- sentence splitting ------------------------------------------------------------------------


def test_sentences_split_on_terminal_punctuation_before_a_capital_or_digit() -> None:
    source = md(
        "The ledger runs PostgreSQL 15 today. Is that the latest one? Yes it is, luckily! 2,300 merchants saw it.\n"
    )
    assert texts(source) == [
        "The ledger runs PostgreSQL 15 today.",
        "Is that the latest one?",
        "Yes it is, luckily!",
        "2,300 merchants saw it.",
    ]


def test_abbreviations_do_not_end_a_sentence() -> None:
    source = md(
        "Some limits apply, e.g. Throughput and timeouts are capped. "
        "The gateway keeps approx. 500 references, i.e. Enough for a day. "
        "Ask Dr. Fairweather or J. Smith about ticket No. 42 before the review.\n"
    )
    assert texts(source) == [
        "Some limits apply, e.g. Throughput and timeouts are capped.",
        "The gateway keeps approx. 500 references, i.e. Enough for a day.",
        "Ask Dr. Fairweather or J. Smith about ticket No. 42 before the review.",
    ]


def test_decimals_versions_times_and_section_numbers_stay_inside_a_sentence() -> None:
    source = md(
        "Retries recovered €2.3M of payments in spec v4.2 at 03:00 UTC. "
        "The primary runs PostgreSQL 15.7 under clause 2.1 of the contract.\n"
    )
    assert texts(source) == [
        "Retries recovered €2.3M of payments in spec v4.2 at 03:00 UTC.",
        "The primary runs PostgreSQL 15.7 under clause 2.1 of the contract.",
    ]


def test_a_sentence_may_start_with_a_lower_case_name_but_not_after_etc() -> None:
    source = md(
        "Both medsync and bedflow handle merges correctly. resultsview shows both records "
        "until the nightly rebuild. Cabinets, printers etc. and scanners are out of scope here.\n"
    )
    assert texts(source) == [
        "Both medsync and bedflow handle merges correctly.",
        "resultsview shows both records until the nightly rebuild.",
        "Cabinets, printers etc. and scanners are out of scope here.",
    ]


def test_a_short_fragment_joins_its_neighbour_instead_of_being_lost() -> None:
    source = md("Yes. Under spec 4.2 the limit is 500 requests per second. Confirmed today.\n")
    assert texts(source) == [
        "Yes. Under spec 4.2 the limit is 500 requests per second. Confirmed today."
    ]


def test_a_bold_lead_in_label_is_not_part_of_the_fact() -> None:
    source = md(
        "- **Replica lag.** No repeat of the August incident. Analytics moved to its own replica.\n"
    )
    assert texts(source) == [
        "No repeat of the August incident.",
        "Analytics moved to its own replica.",
    ]


def test_units_too_short_too_long_or_without_letters_are_dropped() -> None:
    long = " ".join(["word"] * 120)
    source = md(
        f"Hi Jonas,\n\n2024-10-15 06:00 12:00 14:00\n\n{long}\n\nThis one is long enough.\n"
    )
    assert texts(source) == ["This one is long enough."]


# -- structure ---------------------------------------------------------------------------------


def test_headings_code_fences_breaks_and_frontmatter_are_skipped() -> None:
    source = md(
        "---\ntitle: A note about the ledger\nowner: Alice Chen\n---\n"
        "# Ledger overview\n\nThe ledger posts journal entries daily.\n\n"
        "```sql\nSELECT * FROM journal_lines WHERE posted = true;\n```\n\n"
        "---\n\nSetext heading here\n===================\n\n"
        "## Replicas\n\nTwo streaming replicas serve reads.\n"
    )
    found = units(source)
    assert [unit.text for unit in found] == [
        "The ledger posts journal entries daily.",
        "Two streaming replicas serve reads.",
    ]
    assert [unit.heading for unit in found] == ["Ledger overview", "Replicas"]


def test_list_items_are_items_and_a_multi_sentence_item_is_split_into_sentences() -> None:
    source = md(
        "- Keep two streaming replicas until after the upgrade.\n"
        "* The Kafka cluster was expanded to 5 brokers.\n  Retention remains seven days now.\n"
        "1. Set the standby delay on all replicas.\n"
        "2) Add a logical replica for reporting work.\n"
    )
    found = units(source)
    assert [(unit.kind, unit.text) for unit in found] == [
        ("item", "Keep two streaming replicas until after the upgrade."),
        ("sentence", "The Kafka cluster was expanded to 5 brokers."),
        ("sentence", "Retention remains seven days now."),
        ("item", "Set the standby delay on all replicas."),
        ("item", "Add a logical replica for reporting work."),
    ]
    # an item's span starts after its marker
    assert source.text[found[0].start : found[0].start + 4] == "Keep"
    assert_spans_exact(source)


def test_markdown_joins_the_lines_of_a_paragraph() -> None:
    source = md(
        "The ledger consumes payment events\nfrom Kafka and posts journal\nentries every day.\n"
    )
    (unit,) = units(source)
    assert (
        unit.text
        == "The ledger consumes payment events from Kafka and posts journal entries every day."
    )
    assert source.text[unit.start : unit.end].count("\n") == 2


def test_field_lines_are_items_of_their_own() -> None:
    source = md(
        "Owner: Clinical Applications (Oliver Penhallow)\n"
        "Last reviewed: 24 February 2025, by Farah Siddiqui\n"
        "Applies to: all three hospitals of the group\n"
    )
    found = units(source)
    assert [unit.kind for unit in found] == ["item", "item", "item"]
    assert found[1].text == "Last reviewed: 24 February 2025, by Farah Siddiqui"


def test_tables_become_rows_of_labelled_neutralised_cells_without_header_or_separator() -> None:
    source = md(
        "## Risks\n\n"
        "| Risk | Owner | Action |\n"
        "|---|:---:|---|\n"
        "| Single region (eu-west-1) | [[Sofia Lindqvist]] | Write the DR plan |\n"
        "|  Payouts do not wait  | Ravi Menon | Gate payouts on `recon` |\n"
        "| 1 | 2 | 3 |\n"
    )
    found = units(source)
    assert [(unit.kind, unit.text) for unit in found] == [
        (
            "row",
            "Risk: Single region (eu-west-1); Owner: Sofia Lindqvist; Action: Write the DR plan",
        ),
        ("row", "Risk: Payouts do not wait; Owner: Ravi Menon; Action: Gate payouts on `recon`"),
    ]
    assert all(unit.heading == "Risks" for unit in found)
    first = found[0]
    assert source.text[first.start : first.end] == (
        "| Single region (eu-west-1) | [[Sofia Lindqvist]] | Write the DR plan |"
    )
    rows = table_rows(source)
    assert rows[0].header == ("Risk", "Owner", "Action")
    assert rows[0].cells == ("Single region (eu-west-1)", "Sofia Lindqvist", "Write the DR plan")
    assert rows[0].unit == first


def row_texts(source: Converted) -> list[str]:
    return [unit.text for unit in units(source) if unit.kind == "row"]


def test_a_row_of_a_headed_table_of_three_columns_labels_each_cell_with_its_header() -> None:
    line = "| ledger-sync | Payments Platform | Nightly settlement |"
    source = md(f"| System | Team | Purpose |\n|---|---|---|\n{line}\n")
    (row,) = table_rows(source)
    assert (
        row.unit.text == "System: ledger-sync; Team: Payments Platform; Purpose: Nightly settlement"
    )
    assert source.text[row.unit.start : row.unit.end] == line  # the span is the row, as before
    assert row.cells == ("ledger-sync", "Payments Platform", "Nightly settlement")
    assert row.header == ("System", "Team", "Purpose")


def test_header_cells_are_neutralised_like_the_cells_they_label() -> None:
    source = md(
        "| [[Systems\\|System]] | #owner | Cost |\n|---|---|---|\n| ledger-sync | [[Payments Team]] | $40 |\n"
    )
    assert row_texts(source) == ["System: ledger-sync; \\#owner: Payments Team; Cost: \\$40"]
    assert_spans_exact(source)


@pytest.mark.parametrize("generic", ["Value", "Details", "Setting", "**Notes**", "answer", "Info:"])
def test_a_two_column_table_under_a_generic_second_header_reads_key_colon_value(
    generic: str,
) -> None:
    source = md(
        f"| Item | {generic} |\n|---|---|\n"
        "| Retry budget | 3 attempts |\n| Settlement cut-off | 22:00 |\n"
    )
    assert row_texts(source) == [
        "Retry budget: 3 attempts",
        "Settlement cut-off: 22:00",
    ]


def test_a_two_column_table_under_an_attribute_header_labels_the_value_after_its_key() -> None:
    source = md(
        "| System | Owner |\n|---|---|\n"
        "| ledger-sync | Payments Platform |\n| risk-scorer | Fraud Analytics |\n"
    )
    assert row_texts(source) == [
        "ledger-sync — Owner: Payments Platform",
        "risk-scorer — Owner: Fraud Analytics",
    ]
    assert [row.cells for row in table_rows(source)] == [
        ("ledger-sync", "Payments Platform"),
        ("risk-scorer", "Fraud Analytics"),
    ]


def test_a_headerless_table_of_two_columns_is_key_value_and_of_more_keeps_its_pipes() -> None:
    two = md("| Retry budget | 3 attempts |\n| Settlement cut-off | 22:00 |\n")
    assert row_texts(two) == [
        "Retry budget: 3 attempts",
        "Settlement cut-off: 22:00",
    ]
    assert all(row.header == () for row in table_rows(two))
    three = md(
        "| ledger-sync | Payments Platform | Nightly settlement |\n| risk-scorer |  | Scoring |\n"
    )
    assert row_texts(three) == [
        "ledger-sync | Payments Platform | Nightly settlement",
        "risk-scorer | | Scoring",  # without headers a cell is known by its place: the gap stays
    ]


def test_empty_cells_are_left_out_and_a_cell_under_an_empty_header_is_bare() -> None:
    three = md(
        "| Region | Lag |  |\n|---|---|---|\n"
        "| all regions |  | no lag measured |\n| eu-west | 5 s | two lines |\n"
    )
    assert row_texts(three) == [
        "Region: all regions; no lag measured",
        "Region: eu-west; Lag: 5 s; two lines",
    ]
    two = md("| System | Owner |\n|---|---|\n| ledger-sync batch |  |\n|  | Payments Platform |\n")
    assert row_texts(two) == ["ledger-sync batch", "Owner: Payments Platform"]


def test_a_label_or_key_ending_with_a_colon_gets_no_second_colon() -> None:
    labelled = md(
        "| System: | **Owner:** | Purpose |\n|---|---|---|\n| ledger-sync | Payments Team | Runs: every night |\n"
    )
    assert row_texts(labelled) == [
        "System: ledger-sync; **Owner:** Payments Team; Purpose: Runs: every night"
    ]
    key_value = md("| Contact: | Jonas Berg |\n| Escalation: | Alice Chen |\n")
    assert row_texts(key_value) == ["Contact: Jonas Berg", "Escalation: Alice Chen"]
    for text in (*row_texts(labelled), *row_texts(key_value)):
        assert "::" not in text and ":**:" not in text


def test_html_table_rows_arrive_labelled_through_the_html_converter(tmp_path: Path) -> None:
    page = tmp_path / "inventory.html"
    page.write_text(
        "<html><body><h2>Systems</h2><table>"
        "<tr><th>System</th><th>Team</th><th>Purpose</th></tr>"
        "<tr><td>ledger-sync</td><td><b>Payments</b> Platform</td><td>Nightly settlement</td></tr>"
        "</table><h2>Targets</h2><table><tr><th>Setting</th><th>Value</th></tr>"
        "<tr><td>Retry budget</td><td>3 attempts</td></tr></table></body></html>",
        encoding="utf-8",
    )
    source = convert(page.name, page.read_bytes())
    rows = table_rows(source)
    assert [row.unit.text for row in rows] == [
        "System: ledger-sync; Team: Payments Platform; Purpose: Nightly settlement",
        "Retry budget: 3 attempts",
    ]
    assert [row.unit.heading for row in rows] == ["Systems", "Targets"]
    assert source.text[rows[0].unit.start : rows[0].unit.end] == (
        "| ledger-sync | Payments Platform | Nightly settlement |"
    )


def test_a_markdown_table_in_a_real_file_is_labelled_and_its_spans_do_not_move(
    tmp_path: Path,
) -> None:
    note = tmp_path / "payment-systems.md"
    note.write_text(
        "---\ntitle: Payment systems\n---\n# Payment systems\n\n"
        "The inventory lists every payment system we run.\n\n"
        "| System | Team | Support hours |\n"
        "| :--- | :---: | ---: |\n"
        "| ledger-sync | Payments Platform | 24/7 |\n"
        "| risk-scorer | Fraud Analytics | 08:00-18:00 |\n\n"
        "| Setting | Value |\n|---|---|\n| Retry budget | 3 attempts |\n",
        encoding="utf-8",
    )
    source = convert(note.name, note.read_bytes())
    found = units(source)
    assert [(unit.kind, unit.text) for unit in found] == [
        ("sentence", "The inventory lists every payment system we run."),
        ("row", "System: ledger-sync; Team: Payments Platform; Support hours: 24/7"),
        ("row", "System: risk-scorer; Team: Fraud Analytics; Support hours: 08:00-18:00"),
        ("row", "Retry budget: 3 attempts"),
    ]
    spans = [source.text[unit.start : unit.end] for unit in found if unit.kind == "row"]
    assert spans == [
        "| ledger-sync | Payments Platform | 24/7 |",
        "| risk-scorer | Fraud Analytics | 08:00-18:00 |",
        "| Retry budget | 3 attempts |",
    ]
    assert_spans_exact(source)


def test_unsafe_source_text_arrives_neutralised() -> None:
    source = md("See [[CONFLICT]] and %%hidden%% notes about the #urgent ledger today. ^abc123\n")
    (unit,) = units(source)
    assert unit.text == "See CONFLICT and %hidden% notes about the \\#urgent ledger today."
    assert_spans_exact(source)


# -- plain text --------------------------------------------------------------------------------


def test_txt_joins_wrapped_lines_and_keeps_short_lines_apart() -> None:
    wrapped = (
        "NORTHWIND ACQUIRING B.V.\n"
        "CardNet Gateway -- Merchant Integration Specification\n"
        "Version 4.2, effective 2024-09-01 for all merchants\n"
        "\n"
        "This document specifies the limits and behaviours that apply to payment service providers\n"
        "connecting to the CardNet Gateway for card authorisation. It supersedes version 4.1 of it.\n"
    )
    found = units(txt(wrapped))
    assert [unit.text for unit in found] == [
        "CardNet Gateway -- Merchant Integration Specification",
        "Version 4.2, effective 2024-09-01 for all merchants",
        "This document specifies the limits and behaviours that apply to payment service providers connecting to the CardNet Gateway for card authorisation.",
        "It supersedes version 4.1 of it.",
    ]
    assert found[0].heading == "NORTHWIND ACQUIRING B.V."


def test_txt_all_caps_and_short_title_lines_are_headings() -> None:
    source = txt(
        "2. THROUGHPUT LIMITS\n\n"
        "2.1 Each merchant account may submit at most 500 requests per second to the CardNet Gateway,\n"
        "    across all operations. Requests above this rate are rejected with HTTP 429 and error code\n"
        "    CN-THROTTLE.\n"
        "2.2 Bursts are not permitted above the per-second limit at any time.\n\n"
        "3. Why we moved\n\n"
        "The old room had a single cooling unit for everything.\n"
    )
    found = units(source)
    assert [(unit.kind, unit.heading, unit.text) for unit in found] == [
        (
            "sentence",
            "THROUGHPUT LIMITS",
            "Each merchant account may submit at most 500 requests per second to the CardNet Gateway, across all operations.",
        ),
        (
            "sentence",
            "THROUGHPUT LIMITS",
            "Requests above this rate are rejected with HTTP 429 and error code CN-THROTTLE.",
        ),
        (
            "item",
            "THROUGHPUT LIMITS",
            "Bursts are not permitted above the per-second limit at any time.",
        ),
        ("sentence", "Why we moved", "The old room had a single cooling unit for everything."),
    ]
    assert_spans_exact(source)


def test_txt_unwrapped_lines_and_timeline_lines_stay_apart() -> None:
    source = txt(
        "The cutover took place on Saturday 11 October 2025, from 06:00 to 19:40, as planned by the team in the summer.\n"
        "06:05  Stopped the Data Guard apply for CareRecord and shut down the standby servers\n"
        "06:30  Shut down tw-node-b and let tw-node-a run alone\n"
    )
    assert texts(source) == [
        "The cutover took place on Saturday 11 October 2025, from 06:00 to 19:40, as planned by the team in the summer.",
        "06:05 Stopped the Data Guard apply for CareRecord and shut down the standby servers",
        "06:30 Shut down tw-node-b and let tw-node-a run alone",
    ]


def test_txt_email_thread_skips_headers_quotes_and_signatures() -> None:
    source = txt(
        "From: Alice Chen <alice.chen@harbourline.example>\n"
        "To: Jonas Berg <jonas.berg@northwind.example>\n"
        "Date: Tue, 17 Sep 2024 10:42:00 +0200\n"
        "Subject: Re: CN-THROTTLE errors for Marketly\n"
        "\n"
        "Hi Jonas,\n"
        "\n"
        "Marketly peaked at about 700 req/s on Saturday afternoon.\n"
        "\n"
        "On Mon, 16 Sep 2024 at 09:00, Jonas Berg <jonas.berg@northwind.example>\n"
        "wrote:\n"
        "> The limit is 1,000 requests per second per merchant.\n"
        "> Nothing changed on our side at all.\n"
        "\n"
        "Best,\n"
        "Alice Chen\n"
        "Head of Payments, Harbourline\n"
        "\n"
        "-----\n"
        "\n"
        "From: Jonas Berg <jonas.berg@northwind.example>\n"
        "Subject: Re: CN-THROTTLE errors for Marketly\n"
        "\n"
        "Under spec 4.2 the limit is 500 requests per second per MID.\n"
        "-- \n"
        "Jonas Berg | Account Manager | Northwind Acquiring B.V.\n"
        "Phone +31 20 000 0000, available on weekdays only\n"
    )
    found = units(source)
    assert [unit.text for unit in found] == [
        "Marketly peaked at about 700 req/s on Saturday afternoon.",
        "Under spec 4.2 the limit is 500 requests per second per MID.",
    ]
    assert found[0].heading == "Re: CN-THROTTLE errors for Marketly"


def test_a_date_field_outside_an_email_header_is_kept() -> None:
    source = txt("DIGITAL PROGRAMME BOARD - NOTES\nDate: Tuesday 20 May 2025, 14:00-15:30\n")
    assert texts(source) == ["Date: Tuesday 20 May 2025, 14:00-15:30"]


# -- unit_at -----------------------------------------------------------------------------------


def test_unit_at_maps_a_quote_to_the_unit_that_holds_it() -> None:
    text = "The ledger runs PostgreSQL 15 today. Payouts read from the primary database.\n"
    source = md(text)
    found = units(source)
    quote = text.index("PostgreSQL 15")
    assert unit_at(found, quote, quote + len("PostgreSQL 15")) == found[0]
    second = text.index("Payouts")
    assert unit_at(found, second, found[1].end) == found[1]
    assert unit_at(found, quote, second + 3) is None  # across two units
    assert unit_at(found, len(text) - 1, len(text)) is None  # after every unit
    assert unit_at([], 0, 1) is None


def test_unit_at_before_the_first_unit_is_none() -> None:
    source = md("# Title\n\nThe ledger runs PostgreSQL 15 today.\n")
    assert unit_at(units(source), 0, 3) is None


# -- real files --------------------------------------------------------------------------------


@pytest.mark.parametrize("path", sorted(VAULT_SOURCES.iterdir()), ids=lambda p: p.name)
def test_example_vault_sources_have_exact_neutral_spans(path: Path, tmp_path: Path) -> None:
    copy = tmp_path / path.name
    copy.write_bytes(path.read_bytes())
    fmt: Format = "text" if copy.suffix == ".txt" else "markdown"
    source = Converted(copy.read_text(encoding="utf-8"), fmt)
    found = units(source)
    assert len(found) >= 10
    assert [unit.start for unit in found] == sorted(unit.start for unit in found)
    for before, after in pairwise(found):
        assert before.end <= after.start
    assert_spans_exact(source)
    assert found == units(Converted(copy.read_text(encoding="utf-8"), fmt))


def test_units_of_the_cardnet_spec_are_its_clauses_and_sentences(tmp_path: Path) -> None:
    source = Converted((VAULT_SOURCES / "cardnet-gateway-spec.txt").read_text(), "text")
    found: list[Unit] = units(source)
    by_text = {unit.text: unit for unit in found}
    clause = by_text[
        "Higher limits require a separate MID per sub-merchant or a written amendment to the contract."
    ]
    assert clause.kind == "item"
    assert clause.heading == "THROUGHPUT LIMITS"
    assert (
        "Requests above this rate are rejected with HTTP 429 and error code CN-THROTTLE." in by_text
    )
    assert not any("THROUGHPUT" in unit.text for unit in found)
