"""Each kind of contradiction, and each kind of non-contradiction, through a real ingest.

Every test writes two (or three) small dated sources about one observatory into a fresh vault,
ingests them one at a time, and checks exactly what `Companion.conflicts()` lists, what the
page holds (a `[!conflict]` or `[!superseded]` callout and its block id) and what log.md says
(the category is in the `conflict opened:` bullet). Some facts are written as documents write
them: a table row or a `Field: value` line in one source, prose in the other.

Every non-conflict case has a *control*: the same pair with only the distinguishing feature
taken out (the same scope, an exact value instead of a bound, a value that really differs) must
raise a conflict. That proves the two facts do meet on one page, so "no conflict" is the rule
deciding and not two facts that never met.

A case the rules get wrong is marked `xfail(strict=True)` with what they cannot decide: the
test states what should happen, and passes (so fails the xfail) once the product does it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from companion.app import Companion
from companion.config import load_settings
from companion.conflicts.callouts import callouts
from companion.write.regions import find_regions

pytestmark = pytest.mark.slow  # real ingests, one vault each: the full suite runs them

NAME = "Saltmarsh Observatory"
PAGE = f"wiki/entities/{NAME}.md"
OLD, NEW, THIRD = "handbook", "visit", "survey"


def _src(day: str, title: str, body: str) -> str:
    return f"---\ndate: {day}\n---\n# {title}\n\n{body}\n"


def handbook(body: str) -> tuple[str, str]:
    """The older source: it names the observatory twice in its facts, so it creates the page."""
    return OLD, _src(
        "2024-03-04",
        f"{NAME} handbook",
        f"{NAME} sits on the coast near the estuary. {NAME} opens to visitors on Fridays.\n\n"
        + body,
    )


def visit(body: str) -> tuple[str, str]:
    """The newer source."""
    return NEW, _src("2024-09-12", f"{NAME} visit notes", f"We toured {NAME} last week.\n\n" + body)


def survey(body: str) -> tuple[str, str]:
    """A third, newest source."""
    return THIRD, _src(
        "2025-01-20", f"{NAME} survey", f"The survey team measured {NAME} in January.\n\n" + body
    )


@dataclass
class Outcome:
    rows: list[dict[str, Any]]
    page: str
    log: str
    queue: str
    root: Path


def ingest(root: Path, sources: Sequence[tuple[str, str]]) -> Outcome:
    """A fresh vault at `root`; each source written and ingested on its own, in order."""
    Companion.init(root)
    with Companion(load_settings(root, state_dir=root.parent / "state")) as app:
        for stem, text in sources:
            (root / "sources" / f"{stem}.md").write_text(text, encoding="utf-8")
            app.ingest([f"sources/{stem}.md"])
        rows = app.conflicts()
    page = root / PAGE
    queue = root / "CONFLICT.md"
    return Outcome(
        rows,
        page.read_text(encoding="utf-8") if page.exists() else "",
        (root / "log.md").read_text(encoding="utf-8"),
        queue.read_text(encoding="utf-8") if queue.exists() else "",
        root,
    )


@pytest.fixture(autouse=True)
def _fake_embedder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COMPANION_EMBED_BACKEND", "fake")


def _opened(log: str) -> list[tuple[str, str]]:
    """(link target, category) of every `conflict opened:` bullet in log.md."""
    found = re.finditer(r"conflict opened: \[\[([^\]|]+)(?:\|[^\]]*)?\]\] \((\w+)\)", log)
    return [(m.group(1), m.group(2)) for m in found]


def assert_one_conflict(out: Outcome, a: str, b: str, category: str) -> dict[str, Any]:
    """Exactly one open conflict on the page, `a` the stored claim (older source), `b` the new
    one; its callout right after the stored claim in the facts region; one queue row; one log
    bullet naming `category`."""
    assert len(out.rows) == 1, out.rows
    row = out.rows[0]
    assert row["page"] == PAGE and row["status"] == "open"
    assert a in row["a"] and b in row["b"], row
    assert (row["a_source"], row["b_source"]) == (f"sources/{OLD}.md", f"sources/{NEW}.md")
    found = callouts(out.page)
    assert [(c.id, c.status) for c in found] == [(row["id"], "open")]
    lines = out.page.splitlines()
    head = found[0].line - 1
    assert a in lines[head - 2]  # the stored claim, then a blank line, then the callout
    facts = next(r for r in find_regions(out.page) if r.name == "facts")
    assert facts.body_start < out.page.index("> [!conflict]") < facts.body_end
    assert _opened(out.log) == [(f"{PAGE.removesuffix('.md')}#^{row['id']}", category)]
    assert out.queue.count(f"#^{row['id']}\\|") == 1
    return row


def assert_no_conflict(out: Outcome, *facts: str) -> None:
    """No conflict anywhere, no callout on the page, and every fact did land on the page (so
    the two really met)."""
    assert out.rows == []
    assert callouts(out.page) == []
    assert "[!conflict]" not in out.page and "conflict opened" not in out.log
    for fact in facts:
        assert fact in out.page


# -- contradictions, one per category ---------------------------------------------------------

CONFLICTS = {
    "numeric: a table row against prose": (
        handbook(
            "| Instrument | Mirror diameter |\n|---|---|\n| Saltmarsh Observatory | 2.4 metres |"
        ),
        visit("The mirror diameter of Saltmarsh Observatory is 3.1 metres."),
        "Mirror diameter: 2.4 metres",
        "is 3.1 metres",
        "numeric",
    ),
    "version: a table row against prose": (
        handbook(
            "| Component | Software |\n|---|---|\n| Dome controller | DomeOS 4.2 |\n"
            "| Weather mast | SkyWatch 2.0 |"
        ),
        visit("The dome controller of Saltmarsh Observatory runs DomeOS 5.1."),
        "Software: DomeOS 4.2",
        "runs DomeOS 5.1",
        "version",
    ),
    "date: a table row against prose in another format": (
        handbook(
            "| Milestone | Date |\n|---|---|\n| First light | 12 March 2019 |\n"
            "| Dome refit | 3 June 2022 |"
        ),
        visit("First light at Saltmarsh Observatory was on 2019-04-02."),
        "First light — Date: 12 March 2019",
        "was on 2019-04-02",
        "date",
    ),
    "boolean: a list item against its denial": (
        handbook(
            "- The image archive of Saltmarsh Observatory is replicated offsite.\n"
            "- The dome opens at dusk."
        ),
        visit("The image archive of Saltmarsh Observatory is not replicated offsite."),
        "archive of Saltmarsh Observatory is replicated offsite",
        "is not replicated offsite",
        "boolean",
    ),
    "ownership: prose against a field line": (
        handbook("Saltmarsh Observatory is operated by Coastal Sky Trust."),
        visit("Saltmarsh Observatory owner: Northern Lens Society."),
        "operated by Coastal Sky Trust",
        "owner: Northern Lens Society",
        "ownership",
    ),
    "categorical: mandatory in a table against optional in prose": (
        handbook("| Step | Visitors |\n|---|---|\n| Safety induction | mandatory |"),
        visit("The safety induction for Saltmarsh Observatory visitors is optional."),
        "Safety induction — Visitors: mandatory",
        "visitors is optional",
        "categorical",
    ),
}


@pytest.mark.parametrize("case", list(CONFLICTS))
def test_a_contradiction_of_each_category_opens_one_conflict(tmp_path: Path, case: str) -> None:
    old, new, a, b, category = CONFLICTS[case]
    assert_one_conflict(ingest(tmp_path / "vault", [old, new]), a, b, category)


def test_a_field_line_stored_first_contradicts_operated_by_in_prose(tmp_path: Path) -> None:
    """The other order of the ownership case above: a stored claim with an attribute (`owner:`
    gives `own`) must meet a new one with none (`is operated by`)."""
    out = ingest(
        tmp_path / "vault",
        [
            handbook("Saltmarsh Observatory owner: Coastal Sky Trust."),
            visit("Saltmarsh Observatory is operated by Northern Lens Society."),
        ],
    )
    assert_one_conflict(out, "owner: Coastal Sky Trust", "Northern Lens Society", "ownership")


def test_an_operator_column_contradicts_operated_by_in_prose(tmp_path: Path) -> None:
    out = ingest(
        tmp_path / "vault",
        [
            handbook(
                "| Facility | Operator |\n|---|---|\n| Saltmarsh Observatory | Coastal Sky Trust |"
            ),
            visit("Saltmarsh Observatory is operated by Northern Lens Society."),
        ],
    )
    assert_one_conflict(out, "Operator: Coastal Sky Trust", "Northern Lens Society", "ownership")


@pytest.mark.xfail(
    strict=True,
    reason="`2.4 m` is not read as a value (a bare `m` could be metres, minutes or millions), "
    "so the row and the sentence have no value to compare",
)
def test_metres_written_m_in_a_table_contradict_prose(tmp_path: Path) -> None:
    out = ingest(
        tmp_path / "vault",
        [
            handbook("| Instrument | Aperture |\n|---|---|\n| Saltmarsh Observatory | 2.4 m |"),
            visit("The aperture of Saltmarsh Observatory is 3.1 m."),
        ],
    )
    assert_one_conflict(out, "Aperture: 2.4 m", "is 3.1 m", "numeric")


def test_a_mass_in_tonnes_contradicts_one_in_kilograms(tmp_path: Path) -> None:
    out = ingest(
        tmp_path / "vault",
        [
            handbook("The dome of Saltmarsh Observatory weighs 12 tonnes."),
            visit("The dome of Saltmarsh Observatory weighs 9,000 kg."),
        ],
    )
    assert_one_conflict(out, "weighs 12 tonnes", "weighs 9,000 kg", "numeric")


# -- not contradictions, each with its control --------------------------------------------------

NOT_CONFLICTS = {
    # name: (old body, new body, control new body: the same pair where it does conflict)
    "equal length in other units, a table row against prose": (
        "| Instrument | Mirror diameter |\n|---|---|\n| Saltmarsh Observatory | 2.4 metres |",
        "The mirror diameter of Saltmarsh Observatory is 240 cm.",
        "The mirror diameter of Saltmarsh Observatory is 310 cm.",
    ),
    "equal duration in other units": (
        "The image archive of Saltmarsh Observatory keeps 48 hours of raw frames.",
        "The image archive of Saltmarsh Observatory keeps 2 days of raw frames.",
        "The image archive of Saltmarsh Observatory keeps 3 days of raw frames.",
    ),
    "different entities on one page": (
        "The Dune Reflector at Saltmarsh Observatory has a mirror diameter of 1.2 metres. "
        "The Dune Reflector was built first.",
        "The Heron Refractor at Saltmarsh Observatory has a mirror diameter of 0.6 metres. "
        "The Heron Refractor was built last.",
        "The Dune Reflector at Saltmarsh Observatory has a mirror diameter of 0.6 metres. "
        "The Dune Reflector was built first.",
    ),
    "different scope: median against p95": (
        "The median slew time of Saltmarsh Observatory is 40 seconds.",
        "The p95 slew time of Saltmarsh Observatory is 95 seconds.",
        "The median slew time of Saltmarsh Observatory is 95 seconds.",
    ),
    "different scope: production against test": (
        "In production, the image archive of Saltmarsh Observatory keeps 30 days of raw frames.",
        "In the test environment, the image archive of Saltmarsh Observatory keeps 7 days of "
        "raw frames.",
        "In production, the image archive of Saltmarsh Observatory keeps 7 days of raw frames.",
    ),
    "compatible bounds: at least 95% against 98.6%": (
        "The clear-night uptime of Saltmarsh Observatory is at least 95%.",
        "The clear-night uptime of Saltmarsh Observatory was 98.6% last quarter.",
        "The clear-night uptime of Saltmarsh Observatory is 91%.",
    ),
}


def _plain(body: str) -> str:
    """A fact as the page holds it: the first sentence or table row, words only."""
    first = body.split(". ")[0].rstrip(".")
    if first.startswith("|"):
        return first.splitlines()[-1].split("|")[-2].strip()
    return first


@pytest.mark.parametrize("case", list(NOT_CONFLICTS))
def test_facts_that_can_both_be_true_raise_nothing(tmp_path: Path, case: str) -> None:
    old, new, _ = NOT_CONFLICTS[case]
    out = ingest(tmp_path / "vault", [handbook(old), visit(new)])
    assert_no_conflict(out, _plain(old), _plain(new))


@pytest.mark.parametrize("case", list(NOT_CONFLICTS))
def test_the_control_of_each_non_conflict_does_conflict(tmp_path: Path, case: str) -> None:
    old, _, control = NOT_CONFLICTS[case]
    out = ingest(tmp_path / "vault", [handbook(old), visit(control)])
    assert len(out.rows) == 1, out.rows
    assert _plain(control) in out.rows[0]["b"]


def test_two_telescopes_sharing_a_head_noun_are_different_entities(tmp_path: Path) -> None:
    out = ingest(
        tmp_path / "vault",
        [
            handbook(
                "The Dune Telescope at Saltmarsh Observatory has a mirror diameter of 1.2 "
                "metres. The Dune Telescope was built first."
            ),
            visit(
                "The Heron Telescope at Saltmarsh Observatory has a mirror diameter of 0.6 "
                "metres. The Heron Telescope was built last."
            ),
        ],
    )
    assert_no_conflict(out, "mirror diameter of 1.2 metres", "mirror diameter of 0.6 metres")


# -- supersedes -------------------------------------------------------------------------------


def assert_superseded(out: Outcome, old: str, new: str) -> None:
    """No conflict; one `[!superseded]` callout right after the old fact, with both facts."""
    assert out.rows == []
    found = callouts(out.page)
    assert [c.status for c in found] == ["superseded"], found
    assert re.fullmatch(r"superseded-[0-9a-f]{6}", found[0].id)
    lines = out.page.splitlines()
    head = found[0].line - 1
    assert old in lines[head - 2]
    assert lines[head + 1].startswith("> superseded ")
    assert old in lines[head + 2] and f"[[wiki/sources/{OLD}]]" in lines[head + 2]
    assert new in lines[head + 3] and f"[[wiki/sources/{NEW}]]" in lines[head + 3]
    assert lines[head + 5] == "^" + found[0].id
    assert f"superseded: [[{PAGE.removesuffix('.md')}#^{found[0].id}|" in out.log


def test_a_newer_source_stating_an_upgrade_supersedes_the_old_version(tmp_path: Path) -> None:
    out = ingest(
        tmp_path / "vault",
        [
            handbook("The dome controller of Saltmarsh Observatory runs DomeOS 4.2."),
            visit("The dome controller of Saltmarsh Observatory was upgraded to DomeOS 5.0."),
        ],
    )
    assert_superseded(out, "runs DomeOS 4.2", "was upgraded to DomeOS 5.0")


def test_upgraded_from_x_to_y_supersedes_the_old_version(tmp_path: Path) -> None:
    out = ingest(
        tmp_path / "vault",
        [
            handbook("The dome controller of Saltmarsh Observatory runs DomeOS 4.2."),
            visit(
                "The dome controller of Saltmarsh Observatory was upgraded from DomeOS 4.2 "
                "to DomeOS 5.0."
            ),
        ],
    )
    assert_superseded(out, "runs DomeOS 4.2", "from DomeOS 4.2 to DomeOS 5.0")


# -- a third source, the id, placement ---------------------------------------------------------

MIRROR = "The primary mirror of Saltmarsh Observatory is {} metres across."


@pytest.mark.parametrize("restated", ["3.1", "2.4"])
def test_a_third_source_restating_either_value_raises_nothing_new(
    tmp_path: Path, restated: str
) -> None:
    out = ingest(
        tmp_path / "vault",
        [
            handbook(MIRROR.format("2.4")),
            visit(MIRROR.format("3.1")),
            survey(MIRROR.format(restated)),
        ],
    )
    row = assert_one_conflict(out, "2.4 metres", "3.1 metres", "numeric")
    assert f"[[wiki/sources/{THIRD}]]" in out.page  # the survey's fact did land on the page
    assert out.page.count("> [!conflict]") == 1 and out.page.count(f"^{row['id']}") == 1


def test_the_same_pair_in_the_other_order_gets_the_same_block_id(tmp_path: Path) -> None:
    old, new = handbook(MIRROR.format("2.4")), visit(MIRROR.format("3.1"))
    forward = ingest(tmp_path / "forward" / "vault", [old, new])
    backward = ingest(tmp_path / "backward" / "vault", [new, old])
    assert len(forward.rows) == len(backward.rows) == 1
    assert forward.rows[0]["id"] == backward.rows[0]["id"]
    assert re.fullmatch(r"conflict-[0-9a-f]{6}", forward.rows[0]["id"])
    assert f"^{forward.rows[0]['id']}" in backward.page


PERSON = (
    "The primary mirror of Saltmarsh Observatory is 2.4 metres across ([[wiki/sources/handbook]])."
)


def _with_notes(page: str, line: str) -> str:
    """The page with `line` written by a person under `## Notes` (outside every region)."""
    marker = "## Notes\n"
    at = page.index(marker) + len(marker)
    rest = page[at:]
    return page[:at] + line + "\n" + rest[rest.index("\n") + 1 :]


def test_a_persons_claim_gets_its_callout_in_the_conflicts_region_and_stays_as_written(
    tmp_path: Path,
) -> None:
    root = tmp_path / "vault"
    Companion.init(root)
    with Companion(load_settings(root, state_dir=tmp_path / "state")) as app:
        stem, text = handbook("The dome opens at dusk.")
        (root / "sources" / f"{stem}.md").write_text(text, encoding="utf-8")
        app.ingest([f"sources/{stem}.md"])
        page = root / PAGE
        edited = _with_notes(page.read_text(encoding="utf-8"), PERSON)
        page.write_text(edited, encoding="utf-8")
        notes_before = edited[edited.index("## Notes") :]
        stem, text = visit(MIRROR.format("3.1"))
        (root / "sources" / f"{stem}.md").write_text(text, encoding="utf-8")
        app.ingest([f"sources/{stem}.md"])
        rows = app.conflicts()
    after = page.read_text(encoding="utf-8")
    assert len(rows) == 1 and rows[0]["a"] == PERSON
    regions = find_regions(after)
    last = regions[-1]
    assert last.name == "conflicts" and after[last.end :].strip() == ""
    body = after[last.body_start : last.body_end]
    assert body.startswith("> [!conflict]") and f"^{rows[0]['id']}" in body
    # Everything the person wrote under Notes comes back byte for byte; the region is appended
    # after it, set off by one blank line.
    assert after[after.index("## Notes") : last.start] in (notes_before, notes_before + "\n")
    assert after.splitlines().count(PERSON) == 1


def test_a_persons_note_outside_wiki_is_never_written(tmp_path: Path) -> None:
    root = tmp_path / "vault"
    Companion.init(root)
    notes = {
        "notes/Observing diary.md": f"# Observing diary\n\n{PERSON}\n",
        "notes/Dome Controller.md": "The dome controller runs DomeOS 4.2 "
        "([[wiki/sources/handbook]]).\n\n%% a person's comment %%\n",
    }
    for rel, text in notes.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(text.encode("utf-8"))
    stats = {rel: (root / rel).stat().st_mtime_ns for rel in notes}
    out_rows: list[dict[str, Any]] = []
    with Companion(load_settings(root, state_dir=tmp_path / "state")) as app:
        for stem, text in (
            handbook(MIRROR.format("2.4") + " The Dome Controller runs DomeOS 4.2."),
            visit(MIRROR.format("3.1") + " The Dome Controller runs DomeOS 5.1."),
        ):
            (root / "sources" / f"{stem}.md").write_text(text, encoding="utf-8")
            app.ingest([f"sources/{stem}.md"])
        out_rows = app.conflicts()
    for rel, text in notes.items():
        assert (root / rel).read_bytes() == text.encode("utf-8")
        assert (root / rel).stat().st_mtime_ns == stats[rel]
    assert out_rows and all(r["page"].startswith("wiki/") for r in out_rows)
