"""`source_date`: the day a source speaks for, from its metadata, its first lines, its name or
its modification time — in that order, each rule passing over dates that cannot exist."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from companion.convert import convert
from companion.ingest.dates import TEXT_LINES, dates_in, source_date
from companion.ingest.result import Converted

# 2024-10-08 23:30 UTC: already 9 October east of Greenwich (a local-time bug would show).
LATE_EVENING = datetime(2024, 10, 8, 23, 30, tzinfo=UTC).timestamp()


def dated(path: Path, mtime: float = LATE_EVENING) -> tuple[str, str]:
    """A real file converted and dated the way ingest does it."""
    return source_date(convert(path.name, path.read_bytes()), path.name, mtime)


def text(body: str, title: str | None = None) -> Converted:
    return Converted(body, "text", title=title)


# -- frontmatter and other metadata ------------------------------------------------------------


@pytest.mark.parametrize(
    ("frontmatter", "expected"),
    [
        ("date: 2024-10-08", "2024-10-08"),  # YAML gives a date
        ("date: 2024-10-08T23:30:00-05:00", "2024-10-08"),  # the day as written, no shift
        ("created: '8 October 2024'", "2024-10-08"),
        ("published: October 8, 2024", "2024-10-08"),
        ("Last-Updated: 2024-10-08", "2024-10-08"),  # keys: any case, `-` as `_`
        ("updated: 2024-01-01\ndate: 2024-10-08", "2024-10-08"),  # date before updated
        ("modified: 2024-01-01\ncreated: 2024-10-08", "2024-10-08"),  # created before modified
    ],
)
def test_a_date_in_the_frontmatter_wins(tmp_path: Path, frontmatter: str, expected: str) -> None:
    path = tmp_path / "notes-2020-01-01.md"
    path.write_text(f"---\n{frontmatter}\n---\nWritten 3 March 2021.\n", encoding="utf-8")
    assert dated(path) == (expected, "frontmatter")


def test_an_impossible_or_unreadable_frontmatter_date_falls_through(tmp_path: Path) -> None:
    path = tmp_path / "notes.md"
    path.write_text("---\ndate: 2024-13-45\ncreated: soon\n---\nOn 3 March 2021.\n", "utf-8")
    assert dated(path) == ("2021-03-03", "text")


def test_html_meta_and_pdf_info_dates_count_as_metadata(tmp_path: Path) -> None:
    page = tmp_path / "overview.html"
    page.write_text('<meta name="date" content="2025-08-12"><p>On 1 May 2020.</p>', "utf-8")
    assert dated(page) == ("2025-08-12", "frontmatter")
    pdf_info = Converted(
        "x", "pdf", {"CreationDate": "D:20241008", "created": "2024-10-08T00:00:00"}
    )
    assert source_date(pdf_info, "scan.pdf", LATE_EVENING) == ("2024-10-08", "frontmatter")


# -- the text ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("Date: 2024-10-08", "2024-10-08"),
        ("Meeting held 8 October 2024 in room 2", "2024-10-08"),
        ("Signed October 8, 2024.", "2024-10-08"),
        ("Issued 08 Oct 2024", "2024-10-08"),
        ("This policy is effective 2024-09-01.", "2024-09-01"),
        ("Tuesday 8th of Oct. 2024, 14:00", "2024-10-08"),
        ("Sept 5 2024", "2024-09-05"),
        ("Stamped 2024/10/08", "2024-10-08"),
        ("Written: 20 october 2025", "2025-10-20"),
    ],
)
def test_a_written_date_in_the_first_lines_is_found(line: str, expected: str) -> None:
    assert source_date(text(f"Title line\n\n{line}\n"), "notes.txt", 0) == (expected, "text")


def test_the_first_date_written_wins(tmp_path: Path) -> None:
    path = tmp_path / "minutes-2019-01-01.txt"
    path.write_text("Minutes\nHeld 20 May 2025, about the 2024-01-31 release.\n", "utf-8")
    assert dated(path) == ("2025-05-20", "text")


def test_a_date_in_the_title_comes_before_the_text() -> None:
    source = text("Next review 1 June 2026.\n", title="Postmortem, 3 December 2025")
    assert source_date(source, "x.txt", 0) == ("2025-12-03", "text")


@pytest.mark.parametrize(
    "line",
    [
        "Period: October 2024",  # no day
        "Report for 2025-Q2",
        "Due 08/10/2024",  # day or month first? not guessed
        "Version 2024.10.08.1 of the client",  # a version number, not a date
        "We may 5 times retry, 2024 budget",  # "may" the verb
        "Opened 2024-02-30, closed 2024-13-01",  # impossible dates are passed over
        "Ticket INC-2025-0412",
    ],
)
def test_what_is_not_a_full_real_date_is_not_taken(line: str) -> None:
    assert source_date(text(f"{line}\n"), "notes.txt", LATE_EVENING) == ("2024-10-08", "mtime")


def test_an_impossible_date_is_skipped_for_the_next_one_on_the_line() -> None:
    assert list(dates_in("from 2024-02-30 to 2024-03-01")) == [datetime(2024, 3, 1).date()]


def test_only_the_first_lines_are_read() -> None:
    filler = "".join(f"line {n}\n\n" for n in range(TEXT_LINES))
    late = text(filler + "Dated 8 October 2024.\n")
    assert source_date(late, "notes.txt", 0) == ("1970-01-01", "mtime")
    in_reach = text(filler.split("\n\n", 1)[1] + "Dated 8 October 2024.\n")
    assert source_date(in_reach, "notes.txt", 0) == ("2024-10-08", "text")


# -- the name and the modification time --------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("ledger-sync-meeting-2024-10-08.md", "2024-10-08"),
        ("sources/2019-05-05/scan_20241008.pdf", "2024-10-08"),  # the file's name, not its folder
        ("board_2024_10_08.txt", "2024-10-08"),
        ("minutes 8 October 2024.txt", "2024-10-08"),
    ],
)
def test_a_date_in_the_file_name_comes_next(name: str, expected: str) -> None:
    assert source_date(text("no date here\n"), name, 0) == (expected, "name")


@pytest.fixture
def tokyo_time() -> Iterator[None]:
    """Local time nine hours ahead of UTC, so a local-time date would be the next day."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TZ", "Asia/Tokyo")
        time.tzset()
        yield
    time.tzset()


@pytest.mark.usefixtures("tokyo_time")
def test_otherwise_the_utc_day_of_the_modification_time(tmp_path: Path) -> None:
    path = tmp_path / "report-2024-02-30.txt"  # an impossible date in the name: passed over
    path.write_text("No date anywhere.\n", "utf-8")
    assert datetime.fromtimestamp(LATE_EVENING).day == 9  # the local day is the 9th here
    assert dated(path) == ("2024-10-08", "mtime")
