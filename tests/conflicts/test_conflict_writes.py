"""A hostile probe of the conflict write path: `kill -9`, and facts that look like markup.

**Crash.** The second, contradicting source is ingested by a real `companion ingest` process
that the journal's test hook (`COMPANION_TEST_CRASH_AT=step[@K]`, companion/write/journal.py)
kills with SIGKILL at one step of its K-th multi-file write: the first is the source's pages
and log.md entry, the second CONFLICT.md, the third index.md. After the next start (an
`index`, which replays or rolls back the journal and re-renders CONFLICT.md), the vault holds
the conflict entirely — its callout, its CONFLICT.md row and its log.md bullet — or not at all;
and one more `ingest` ends with exactly one of each.

**Hostile text.** A fact holding `]]`, `|`, `^`, `%%`, a line separator Python's
`str.splitlines` splits on (U+2028, NEL, form feed, vertical tab, CR), a leading `> `, or a very
long run of words, first as a source's text (neutralised on its way in), then as a person's own
line on the page (never neutralised). Each time: the page's regions still parse, the callout is
one callout with both claims, each on one line; CONFLICT.md's table rows have four cells; and
the row's link `[[page#^conflict-xxxxxx|...]]` names a page holding that block id.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from companion.app import Companion
from companion.config import load_settings
from companion.conflicts.callouts import Callout, callouts
from companion.write.conflicts import quoted_claim
from companion.write.regions import find_regions

pytestmark = pytest.mark.slow  # real ingests, one vault each: the full suite runs them

NAME = "Saltmarsh Observatory"
PAGE = f"wiki/entities/{NAME}.md"
MIRROR = "The primary mirror of Saltmarsh Observatory is {} metres across{}."


def _src(day: str, title: str, body: str) -> str:
    return f"---\ndate: {day}\n---\n# {title}\n\n{body}\n"


def handbook(body: str) -> str:
    return _src(
        "2024-03-04",
        f"{NAME} handbook",
        f"{NAME} sits on the coast near the estuary. {NAME} opens to visitors on Fridays.\n\n"
        + body,
    )


def visit(body: str) -> str:
    return _src("2024-09-12", f"{NAME} visit notes", f"We toured {NAME} last week.\n\n" + body)


@pytest.fixture(autouse=True)
def _fake_embedder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COMPANION_EMBED_BACKEND", "fake")


# -- kill -9 ------------------------------------------------------------------------------------


def _cli(
    vault: Path, state: Path, *args: str, crash: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COMPANION_STATE_DIR": str(state), "COMPANION_EMBED_BACKEND": "fake"}
    env.pop("COMPANION_TEST_CRASH_AT", None)
    if crash is not None:
        env["COMPANION_TEST_CRASH_AT"] = crash
    return subprocess.run(
        [sys.executable, "-m", "companion", *args, "--vault", str(vault)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _evidence(vault: Path) -> tuple[int, int, int]:
    """(conflict callouts on wiki pages, CONFLICT.md rows linking one, log.md `conflict
    opened` bullets)."""
    found = sum(
        len([c for c in callouts(p.read_text(encoding="utf-8")) if c.status == "open"])
        for p in (vault / "wiki").rglob("*.md")
    )
    queue = vault / "CONFLICT.md"
    rows = queue.read_text(encoding="utf-8").count("#^conflict-") if queue.exists() else 0
    log = (vault / "log.md").read_text(encoding="utf-8").count("conflict opened:")
    return found, rows, log


# K-th multi-file write of the killed run: 1 = the source's pages + log.md, 2 = CONFLICT.md.
CRASH_STEPS = ["staged", "committed", "renamed-1", "renamed-2", "renamed-3", "staged@2"]
CRASH_STEPS += ["committed@2", "renamed-1@2", "staged@3"]


@pytest.mark.slow
@pytest.mark.parametrize("step", CRASH_STEPS)
def test_kill_9_while_writing_a_conflict_leaves_all_of_it_or_none(
    tmp_path: Path, step: str
) -> None:
    vault, state = tmp_path / "vault", tmp_path / "state"
    Companion.init(vault)
    (vault / "sources" / "handbook.md").write_text(handbook(MIRROR.format("2.4", "")), "utf-8")
    (vault / "sources" / "visit.md").write_text(visit(MIRROR.format("3.1", "")), "utf-8")
    first = _cli(vault, state, "ingest", "sources/handbook.md")
    assert first.returncode == 0, first.stderr
    assert _evidence(vault) == (0, 0, 0)
    killed = _cli(vault, state, "ingest", "sources/visit.md", crash=step)
    assert killed.returncode == -signal.SIGKILL, (killed.stdout, killed.stderr)
    recovered = _cli(vault, state, "index", "--no-embed")
    assert recovered.returncode == 0, recovered.stderr
    assert not (state / "journal.json").exists()
    assert not [p for p in vault.rglob("*") if p.name.endswith(".companion-tmp")]
    assert _evidence(vault) in ((0, 0, 0), (1, 1, 1))
    again = _cli(vault, state, "ingest")
    assert again.returncode == 0, again.stderr
    assert _evidence(vault) == (1, 1, 1)
    listed = _cli(vault, state, "conflicts", "--json")
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert len(rows) == 1 and rows[0]["page"] == PAGE
    assert "2.4 metres" in rows[0]["a"] and "3.1 metres" in rows[0]["b"]


# -- hostile text ---------------------------------------------------------------------------------

_UNESCAPED_PIPE = re.compile(r"(?<!\\)\|")
_ROW_LINK = re.compile(r"^\| \[\[(?P<target>[^#\]]+)#\^(?P<id>conflict-[0-9a-f]{6})\\\|")


def assert_well_formed(root: Path, ident: str) -> Callout:
    """The page's regions parse; the callout `ident` is one callout with two one-line claims and
    nothing that could open a comment; every CONFLICT.md row has four cells, and the row for
    `ident` links a page that holds its block."""
    page = (root / PAGE).read_text(encoding="utf-8")
    names = [r.name for r in find_regions(page)]
    assert len(names) == len(set(names)) and {"facts", "related"} <= set(names)
    mine = [c for c in callouts(page) if c.id == ident]
    assert len(mine) == 1
    callout = mine[0]
    assert len(callout.claims) == 2
    lines = page.split("\n")
    head = callout.line - 1
    body = lines[head : head + 4]
    assert all(line.startswith("> ") for line in body)
    assert lines[head + 4] == "" and lines[head + 5] == f"^{ident}"
    assert page.count(f"^{ident}") == 1
    for line in body:
        assert len(line.splitlines()) == 1  # no character Python (or an editor) breaks on
        assert "%%" not in line  # a comment opened here would hide the block id below
    queue = (root / "CONFLICT.md").read_text(encoding="utf-8")
    rows = [line for line in queue.split("\n") if line.startswith("| ") and "---" not in line]
    table = [r for r in rows if not r.startswith("| Conflict ")]
    assert table, queue
    for row in table:
        assert len(_UNESCAPED_PIPE.split(row)) == 6, row  # | a | b | c | d | -> 4 cells
    linked = [m for r in table if (m := _ROW_LINK.match(r)) and m.group("id") == ident]
    assert len(linked) == 1
    target = root / (linked[0].group("target") + ".md")
    assert target.is_file() and f"\n^{ident}\n" in target.read_text(encoding="utf-8")
    return callout


SOURCE_HOSTILE = {
    "closing brackets": " ]] wide",
    "a pipe": " | wide",
    "an escaped pipe": " \\| wide",
    "a block id": " ^mirror-note wide",
    "a caret in a formula": " x^2 wide",
    "comment markers": " %% companion:end facts %% wide",
    "a lone comment marker": " %% wide",
    "a line separator": "\u2028wide",
    "a next-line character": "\x85wide",
    "a form feed": "\x0cwide",
    "a vertical tab": "\x0bwide",
    "a carriage return": "\rwide",
    "a long run of words": "," + " and clearly visible" * 24,  # under the 90 words of a fact
}


def _ingest_pair(root: Path, old: str, new: str) -> list[dict[str, object]]:
    Companion.init(root)
    with Companion(load_settings(root, state_dir=root.parent / "state")) as app:
        (root / "sources" / "handbook.md").write_text(handbook(old), encoding="utf-8")
        app.ingest(["sources/handbook.md"])
        (root / "sources" / "visit.md").write_text(visit(new), encoding="utf-8")
        app.ingest(["sources/visit.md"])
        return app.conflicts()


@pytest.mark.parametrize("case", list(SOURCE_HOSTILE))
def test_hostile_source_text_gives_a_well_formed_callout_and_queue(
    tmp_path: Path, case: str
) -> None:
    tail = SOURCE_HOSTILE[case]
    rows = _ingest_pair(tmp_path / "vault", MIRROR.format("2.4", tail), MIRROR.format("3.1", tail))
    assert len(rows) == 1, rows
    callout = assert_well_formed(tmp_path / "vault", str(rows[0]["id"]))
    assert "2.4 metres" in callout.claims[0] and "3.1 metres" in callout.claims[1]


def test_a_quoted_source_line_and_a_long_table_row_give_a_well_formed_callout(
    tmp_path: Path,
) -> None:
    notes = "x" * 3000
    old = (
        "> The primary mirror of Saltmarsh Observatory is 2.4 metres across.\n\n"
        "| Instrument | Mirror diameter | Notes |\n|---|---|---|\n"
        f"| Saltmarsh Observatory | 2.4 metres | {notes} |"
    )
    rows = _ingest_pair(tmp_path / "vault", old, MIRROR.format("3.1", ""))
    assert rows, rows
    for row in rows:
        assert_well_formed(tmp_path / "vault", str(row["id"]))
    page = (tmp_path / "vault" / PAGE).read_text(encoding="utf-8")
    assert not re.search(r"(?m)^> (?!\[!conflict\]|\[\[CONFLICT\]\]|- )", page)


# A person's own line under `## Notes` (outside every region), citing the older source.
PERSON_HOSTILE = {
    "closing brackets": MIRROR.format("2.4", " ]] wide"),
    "a pipe": MIRROR.format("2.4", " | wide"),
    "a wikilink with display text": "The primary mirror of [[Saltmarsh Observatory|the "
    "observatory]] is 2.4 metres across.",
    "a block id of the conflict form": MIRROR.format("2.4", "") + " ^conflict-abcdef",
    "a very long line": MIRROR.format("2.4", "," + " as noted" * 3000),
}
PERSON_DEFECTS = {
    "a lone comment marker": (
        MIRROR.format("2.4", " %% wide"),
        "quoted_claim copies the person's `%%` into the callout: Obsidian pairs `%%` across "
        "lines, so the comment it opens runs over the callout's other lines and its `^conflict-` "
        "block id (the CONFLICT.md link no longer finds a block)",
    ),
    "a region marker inside the line": (
        MIRROR.format("2.4", " %% companion:end conflicts %% wide"),
        "quoted_claim copies `%% companion:end conflicts %%` from the person's line into the "
        "conflicts region's callout, where Obsidian hides it as a comment",
    ),
    "a line separator": (
        "The primary mirror of Saltmarsh\u2028Observatory is 2.4 metres across.",
        "detect's _cited splits the page with str.splitlines, which breaks at U+2028: the "
        "callout quotes only `Observatory is 2.4 metres across (...)`, not the person's claim, "
        "and the id and title come from that half (`Saltmarsh Observatory: across`)",
    ),
}


def _person_case(root: Path, line: str) -> tuple[list[dict[str, object]], str, str]:
    """Ingest an unrelated handbook, write the person's `line` (citing it) under Notes, ingest
    the contradicting visit: (conflicts, the person's line as written, the page after)."""
    Companion.init(root)
    written = line.removesuffix(".") + " ([[wiki/sources/handbook]])."
    if " ^conflict-" in line:
        body, _, block = line.partition(" ^")
        written = body.removesuffix(".") + " ([[wiki/sources/handbook]]). ^" + block
    with Companion(load_settings(root, state_dir=root.parent / "state")) as app:
        (root / "sources" / "handbook.md").write_text(
            handbook("The dome opens at dusk."), encoding="utf-8"
        )
        app.ingest(["sources/handbook.md"])
        page = root / PAGE
        text = page.read_text(encoding="utf-8")
        at = text.index("## Notes\n") + len("## Notes\n")
        rest = text[at:]
        page.write_text(text[:at] + written + "\n" + rest[rest.index("\n") + 1 :], "utf-8")
        (root / "sources" / "visit.md").write_text(
            visit(MIRROR.format("3.1", "")), encoding="utf-8"
        )
        app.ingest(["sources/visit.md"])
        rows = app.conflicts()
    return rows, written, page.read_text(encoding="utf-8")


def _check_person(tmp_path: Path, line: str) -> None:
    rows, written, after = _person_case(tmp_path / "vault", line)
    assert len(rows) == 1, rows
    assert after.split("\n").count(written) == 1  # the person's line, byte for byte
    callout = assert_well_formed(tmp_path / "vault", str(rows[0]["id"]))
    assert callout.claims[0] == quoted_claim(written.replace("\u2028", "\ufffd"))
    conflicts = next(r for r in find_regions(after) if r.name == "conflicts")
    assert conflicts.start < after.index("> [!conflict]") < conflicts.end


@pytest.mark.parametrize("case", list(PERSON_HOSTILE))
def test_a_persons_hostile_line_gets_a_well_formed_callout_and_is_kept(
    tmp_path: Path, case: str
) -> None:
    _check_person(tmp_path, PERSON_HOSTILE[case])


@pytest.mark.parametrize(
    "case",
    [
        pytest.param(name, id=name)
        for name in PERSON_DEFECTS  # each once a defect (its text says which); all fixed
    ],
)
def test_a_persons_line_with_markup_or_a_separator_is_quoted_whole_and_inert(
    tmp_path: Path, case: str
) -> None:
    _check_person(tmp_path, PERSON_DEFECTS[case][0])


def test_a_callout_quoting_a_fact_its_source_withdrew_is_taken_off_alone() -> None:
    from companion.write.conflicts import drop_withdrawn

    head = (
        "%% companion:begin facts %%\n"
        "- Keeps files for 14 days ([[wiki/sources/a]]). ^i-00000001\n"
        "- Recovers in 2 hours ([[wiki/sources/b]]). ^i-00000004\n"
    )
    claim = "- Recovers in 4 hours ([[wiki/sources/a]]). ^i-00000002\n"
    disputed = (
        "\n> [!conflict] X: recovery time\n> [[CONFLICT]] — opened 2025-01-01\n"
        "> - Recovers in 4 hours ([[wiki/sources/a]]).\n"
        "> - Recovers in 2 hours ([[wiki/sources/b]]).\n\n^conflict-aaaaaa\n\n"
    )
    rest = (
        "> [!resolved] X: retention\n> resolved 2025-02-01 — opened 2025-01-01\n"
        "> - Keeps files for 10 days ([[wiki/sources/b]]).\n"
        "> - Keeps files for 14 days ([[wiki/sources/a]]).\n\n^conflict-bbbbbb\n\n"
        "- Runs on Linux ([[wiki/sources/c]]). ^i-00000003\n"
        "%% companion:end facts %%\n"
    )
    page = head + claim + disputed + rest
    assert drop_withdrawn(page, "wiki/sources/a") == (page, [])  # a still states it
    assert drop_withdrawn(page, "wiki/sources/b") == (page, [])
    # a's new version no longer says it: the conflict's callout goes, with the blank lines
    # around it; a resolved callout is a person's record and stays, as does every other byte.
    assert drop_withdrawn(head + disputed + rest, "wiki/sources/a") == (
        head + "\n" + rest,
        ["conflict-aaaaaa"],
    )


def test_a_callout_a_person_touched_or_placed_outside_a_region_is_never_taken_off() -> None:
    from companion.write.conflicts import drop_withdrawn

    callout = (
        "> [!conflict] X: recovery time\n> [[CONFLICT]] — opened 2025-01-01\n"
        "> - Recovers in 4 hours ([[wiki/sources/a]]).\n"
        "> - Recovers in 2 hours ([[wiki/sources/b]]).\n\n^conflict-aaaaaa\n"
    )
    begin, end = "%% companion:begin facts %%\n", "%% companion:end facts %%\n"
    touched = [
        callout.replace("\n\n^", "\n> asked Bob: 4h is right\n\n^"),  # a line added
        callout.replace("> [[CONFLICT]] — opened", "> — opened"),  # resolved: link taken out
        callout.replace("2025-01-01\n", "2025-01-01 (asked Bob)\n"),  # words appended to it
        callout.replace(
            ").\n\n^", ").\n> - Bob: see [[wiki/sources/a]] p.4\n\n^"
        ),  # a person's bullet in it
    ]
    for block in touched:
        page = f"{begin}- Recovers in 2 hours ([[wiki/sources/b]]). ^i-00000004\n\n{block}\n{end}"
        assert drop_withdrawn(page, "wiki/sources/a") == (page, [])
    outside = f"Para one.\n\n{callout}\nPara two.\n"  # a person's text, no region
    assert drop_withdrawn(outside, "wiki/sources/a") == (outside, [])
    # Inside a region between a person's paragraphs: one blank line stays between them.
    paragraphs = f"{begin}Para one.\n\n{callout}\nPara two.\n{end}"
    assert drop_withdrawn(paragraphs, "wiki/sources/a") == (
        f"{begin}Para one.\n\nPara two.\n{end}",
        ["conflict-aaaaaa"],
    )


def test_a_withdrawn_callout_in_the_conflicts_region_is_taken_off_too() -> None:
    from companion.write.conflicts import drop_withdrawn

    callout = (
        "> [!conflict] X: recovery time\n> [[CONFLICT]] — opened 2025-01-01\n"
        "> - Recovers in 4 hours ([[wiki/sources/a]]).\n"
        "> - Recovers in 2 hours ([[wiki/sources/b]]).\n\n^conflict-aaaaaa\n"
    )
    person = "Recovers in 4 hours ([[wiki/sources/a]]).\n\n"  # a person's line: outside regions
    page = f"{person}%% companion:begin conflicts %%\n{callout}%% companion:end conflicts %%\n"
    # b's fact is gone from every page (its source withdrawn): the callout goes.
    assert drop_withdrawn(page, "wiki/sources/b") == (
        f"{person}%% companion:begin conflicts %%\n%% companion:end conflicts %%\n",
        ["conflict-aaaaaa"],
    )
