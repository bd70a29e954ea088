"""One hostile note must not stall or stop an index run: YAML alias bombs and cycles, values SQLite
or JSON cannot take, canvases nested past the recursion limit, and bytes of any kind. Each comes
back as a Note with a Problem that says what and where; nothing raises."""

from __future__ import annotations

import datetime as dt
import json
import random
from typing import Any

import pytest

from bench.pathological import FIXED, FIXED_PATHS, SCALED
from companion.markdown import scan
from companion.markdown.note import Note
from companion.markdown.parse import ALIAS_NODES, MAX_DEPTH, parse_note


def parse(md: str, path: str = "n.md") -> Note:
    return parse_note(md.encode("utf-8"), path)


def stored(props: dict[str, Any]) -> str:
    """What the sync stores: json.dumps, dates as ISO text, nothing else special-cased."""

    def iso(value: Any) -> str:
        assert isinstance(value, dt.date), f"not JSON data: {value!r}"
        return value.isoformat()

    return json.dumps(props, default=iso, ensure_ascii=False, sort_keys=True)


def codes(note: Note) -> list[str]:
    return [p.code for p in note.problems]


# --- YAML aliases ---------------------------------------------------------------------------


def test_alias_bomb_leaves_properties_empty_with_a_problem_naming_key_and_line() -> None:
    note = parse_note(FIXED["yaml-alias-bomb"](), "n.md")
    assert note.properties == {}
    (problem,) = note.problems
    assert problem.code == "yaml"
    assert problem.message.startswith("frontmatter aliases expand too far")
    assert f"more than {ALIAS_NODES:,} values" in problem.message
    assert "`i` at line 10" in problem.message and problem.line == 10
    assert note.text.endswith("body\n")


def test_merge_key_bomb_is_refused_before_the_loader_expands_it() -> None:
    note = parse_note(FIXED["yaml-merge-bomb"](), "n.md")
    assert (note.properties, codes(note)) == ({}, ["yaml"])
    assert "expand too far" in note.problems[0].message


def test_aliases_that_add_too_much_text_are_refused_too() -> None:
    long = "x" * 200_000
    md = f'---\na: &a "{long}"\nb: [*a, *a, *a, *a, *a, *a]\n---\n'
    note = parse(md)
    assert note.properties == {}
    assert "more than 1,000,000 characters" in note.problems[0].message


def test_a_few_aliases_are_read_as_yaml_reads_them() -> None:
    note = parse(
        "---\nbase: &b {kind: note, tags: [x]}\ncopy: *b\nother: &o [1, 2]\nmore: *o\n---\n"
    )
    assert note.properties == {
        "base": {"kind": "note", "tags": ["x"]},
        "copy": {"kind": "note", "tags": ["x"]},
        "other": [1, 2],
        "more": [1, 2],
    }
    assert note.problems == ()
    assert note.properties["copy"] is not note.properties["base"]  # no shared values


def test_circular_alias_is_cut_and_reported_and_the_rest_is_kept() -> None:
    note = parse_note(FIXED["yaml-circular"](), "n.md")
    assert note.properties == {"a": [1, None]}
    (problem,) = note.problems
    assert (problem.code, problem.line) == ("yaml", 2)
    assert "inside the value it names; read as null" in problem.message
    stored(note.properties)  # acyclic: json.dumps returns


def test_circular_merge_is_cut_to_an_empty_mapping() -> None:
    note = parse_note(FIXED["yaml-circular-merge"](), "n.md")
    assert note.properties == {"a": {}}
    assert "merged as an empty mapping" in note.problems[0].message


def test_alias_inside_its_own_mapping_value() -> None:
    note = parse("---\nm: &m {name: x, self: *m, list: [*m]}\n---\n")
    assert note.properties == {"m": {"name": "x", "self": None, "list": [None]}}
    assert codes(note) == ["yaml", "yaml"]


# --- what reaches Note.properties -----------------------------------------------------------


def test_nesting_past_the_limit_leaves_properties_empty_with_a_problem() -> None:
    note = parse_note(FIXED["yaml-deep"](), "n.md")
    assert note.properties == {}
    assert f"deeper than {MAX_DEPTH} levels" in note.problems[0].message
    ok = parse("---\na: " + "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1) + "\n---\n")
    assert ok.problems == () and stored(ok.properties)


def test_long_sexagesimal_number_is_refused_not_multiplied_out() -> None:
    note = parse("---\na: 1\nwhen: " + ":".join(["1"] * 5000) + "\n---\n")
    assert (note.properties, codes(note), note.problems[0].line) == ({}, ["yaml"], 3)
    assert parse("---\nat: 12:30:45\n---\n").properties == {"at": 45045}  # YAML 1.1 base 60


def test_integer_too_long_to_print_becomes_null_with_a_problem() -> None:
    note = parse("---\nbig: 0x" + "f" * 5000 + "\nsmall: 0x10\n---\n")
    assert note.properties == {"big": None, "small": 16}
    assert codes(note) == ["yaml"]
    stored(note.properties)


def test_properties_are_json_data_with_text_keys_at_every_level() -> None:
    md = (
        "---\n"
        "when: 2023-09-12\n"
        "nested: {1: one, 2023-01-02: day, 2.5: half, null: nothing}\n"
        "set: !!set {b, a}\n"
        "pairs: !!omap [{x: 1}, {y: 2}]\n"
        "blob: !!binary aGVsbG8=\n"
        "---\n"
    )
    note = parse(md)
    assert note.problems == ()
    assert note.properties == {
        "when": dt.date(2023, 9, 12),  # dates stay dates; the sync writes ISO text
        "nested": {"1": "one", "2023-01-02": "day", "2.5": "half", "null": "nothing"},
        "set": ["a", "b"],
        "pairs": [["x", 1], ["y", 2]],
        "blob": "aGVsbG8=",
    }
    stored(note.properties)


# --- version --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("99999999999999999999", "outside the range SQLite can store"),
        ("-9223372036854775809", "outside the range SQLite can store"),
        ('"99999999999999999999"', "outside the range SQLite can store"),
        ("true", "a boolean"),
        ("1.5", "not a whole number"),
        ("draft", "not a whole number"),
    ],
)
def test_version_sqlite_cannot_store_is_none_with_a_problem(value: str, says: str) -> None:
    note = parse(f"---\ntitle: x\nversion: {value}\n---\nbody\n")
    assert note.version is None
    (problem,) = note.problems
    assert (problem.code, problem.line) == ("version", 3)
    assert problem.message.startswith("frontmatter `version` (line 3) is ")
    assert says in problem.message


@pytest.mark.parametrize(
    ("value", "version"),
    [("3", 3), ('"5"', 5), ("9223372036854775807", 2**63 - 1), ("-9223372036854775808", -(2**63))],
)
def test_version_within_sqlites_range_is_kept(value: str, version: int) -> None:
    note = parse(f"---\nversion: {value}\n---\n")
    assert (note.version, note.problems) == (version, ())


def test_absent_or_empty_version_is_no_problem() -> None:
    assert parse("---\nversion:\n---\n").problems == ()
    assert parse("---\ntitle: x\n---\n").problems == ()


# --- canvases -------------------------------------------------------------------------------


def test_canvas_nested_past_the_recursion_limit_is_a_canvas_problem() -> None:
    note = parse_note(FIXED["canvas-deep"](), FIXED_PATHS["canvas-deep"])
    assert (note.links, codes(note)) == ((), ["canvas"])
    assert "nested too deeply" in note.problems[0].message


def test_many_canvas_nodes_keep_their_lines() -> None:
    nodes = [{"id": str(i), "type": "text", "text": f"[[n{i}]]"} for i in range(3000)]
    text = json.dumps({"nodes": nodes}, indent=1)
    note = parse_note(text.encode(), "board.canvas")
    assert [lk.path for lk in note.links] == [f"n{i}" for i in range(3000)]
    assert all(text.count("\n", 0, lk.start) + 1 == lk.line for lk in note.links)


# --- parse_note never raises ----------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(FIXED))
def test_fixed_hostile_files_parse_without_raising(name: str) -> None:
    note = parse_note(FIXED[name](), FIXED_PATHS.get(name, "n.md"))
    assert note.problems, name  # each is reported
    stored(note.properties)


@pytest.mark.parametrize("name", sorted(SCALED))
def test_scaled_hostile_files_parse_to_exact_offsets(name: str) -> None:
    note = parse_note(SCALED[name](20_000), "n.md")
    for link in note.links:
        if link.kind != "frontmatter":
            assert note.text[link.start : link.end] == link.raw
    stored(note.properties)


def test_random_bytes_never_raise() -> None:
    rng = random.Random(20240611)
    pieces = [b"---\n", b"[[", b"]]", b"![", b"](", b"`", b"$", b"%%", b"<!--", b"&a ", b"*a"]
    pieces += [b"\n", b"> ", b"- ", b"#", b"\\", b"|", b"\xff", b"\xef\xbb\xbf", b"{", b"["]
    for i in range(3000):
        if i % 2:
            data = bytes(rng.randrange(256) for _ in range(rng.randrange(200)))
        else:
            data = b"".join(rng.choice(pieces) for _ in range(rng.randrange(60)))
        for path in ("n.md", "b.canvas"):
            note = parse_note(data, path)
            assert note.path == path
            stored(note.properties)
            for link in note.links:
                if link.kind != "frontmatter" and path == "n.md":
                    assert note.text[link.start : link.end] == link.raw


def test_an_unforeseen_error_becomes_a_parse_problem(monkeypatch: pytest.MonkeyPatch) -> None:
    # Stands in for a bug of ours: the file is still indexed, by its path and text alone.
    def broken(*_: object) -> object:
        raise RuntimeError("scanner bug")

    monkeypatch.setattr(scan, "scan_body", broken)
    note = parse_note(b"---\ntags: [x]\n---\nsee [[Link]]\n", "notes/Broken.md")
    assert (note.title, note.links, note.properties, note.tags) == ("Broken", (), {}, ())
    (problem,) = note.problems
    assert problem.code == "parse"
    assert problem.message == (
        "could not be parsed (RuntimeError: scanner bug); indexed without links or properties"
    )
    assert note.text.endswith("see [[Link]]\n")
