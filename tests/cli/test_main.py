"""The command line as a user runs it: a real process, real exit codes, real output."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.helpers import copy_example_vault, run_cli

run = run_cli


@pytest.fixture(scope="module")
def indexed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("cli")
    vault = copy_example_vault(root / "vault")
    state = root / "state"
    done = run("index", str(vault), "--state-dir", str(state))
    assert done.returncode == 0, done.stderr
    assert "embedded" in done.stdout
    assert "text search ready (" in done.stderr  # said between the text pass and embedding
    return vault, state


def test_index_reports_counts_and_written_files(indexed: tuple[Path, Path]) -> None:
    vault, state = indexed
    assert (vault / "index.md").is_file() and (vault / "log.md").is_file()
    again = run("index", str(vault), "--state-dir", str(state), "--json")
    assert again.returncode == 0, again.stderr
    report = json.loads(again.stdout)
    assert (
        report["added"] == report["changed"] == report["removed"] == [] and report["written"] == []
    )


def test_search_json_lists_hits_with_the_documented_fields(indexed: tuple[Path, Path]) -> None:
    vault, state = indexed
    out = run(
        "search",
        "how are card payments retried",
        "--vault",
        str(vault),
        "--state-dir",
        str(state),
        "--json",
    )
    assert out.returncode == 0, out.stderr
    hits = json.loads(out.stdout)
    assert hits[0]["path"] == "services/payments/Retry Policy.md"
    assert set(hits[0]) >= {"path", "title", "score", "rank", "ranks", "snippet"}
    assert set(hits[0]["ranks"]) == {"bm25", "vector", "links", "name"}


def test_search_explain_shows_channel_ranks(indexed: tuple[Path, Path]) -> None:
    vault, state = indexed
    out = run(
        "search",
        "ledger failover",
        "--mode",
        "bm25",
        "--explain",
        "--vault",
        str(vault),
        "--state-dir",
        str(state),
    )
    assert out.returncode == 0, out.stderr
    assert "bm25 #1 (" in out.stdout and "Ledger Failover" in out.stdout  # rank and own score


def test_links_read_heading_and_files_answer_as_an_agent_needs(
    indexed: tuple[Path, Path],
) -> None:
    vault, state = indexed
    where = ("--vault", str(vault), "--state-dir", str(state))
    out = run("links", "Retry Policy", *where)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("7 links from services/payments/Retry Policy.md")
    assert "  [[Rate Limits]] -> services/payments/Rate Limits.md" in out.stdout
    rows = json.loads(run("links", "Retry Policy", "--json", *where).stdout)
    assert {"raw", "target", "subpath", "kind", "ambiguous"} <= set(rows[0])
    section = run("read", "Retry Policy", "--heading", "backoff schedule", *where)
    assert section.returncode == 0, section.stderr
    assert section.stdout.startswith("## Backoff schedule\n")
    assert "How retries are executed" not in section.stdout  # the next heading ends it
    missing = run("read", "Retry Policy", "--heading", "Nope", *where)
    assert missing.returncode == 1
    assert "has no heading 'Nope' (its headings: 'What we retry'" in missing.stderr
    # a path is the vault path it names: absolute inside the vault, or with `..` staying in it
    for inside in (str(vault / "Home.md"), "services/../Home", "Home"):
        got = run("read", inside, "--json", *where)
        assert got.returncode == 0, (inside, got.stderr)
        assert json.loads(got.stdout)["path"] == "Home.md"
    out_of = run("read", "../../etc/passwd", *where)
    assert out_of.returncode == 1 and "leads outside the vault" in out_of.stderr
    files = run("search", "retries", "--files", "--folder", "services", *where)
    assert files.returncode == 0, files.stderr
    assert files.stdout.splitlines()[0] == "services/payments/Retry Policy.md"
    assert all(line.startswith("services/") for line in files.stdout.splitlines())


def test_results_say_when_vectors_are_incomplete_and_status_wait_says_who_would_finish(
    tmp_path: Path,
) -> None:
    vault = copy_example_vault(tmp_path / "vault")
    where = ("--vault", str(vault), "--state-dir", str(tmp_path / "state"))
    assert run("index", *where).returncode == 0
    current = run("status", "--wait", "--timeout", "5", *where)
    assert current.returncode == 0, current.stderr  # no daemon, nothing left: the status
    (vault / "New Note.md").write_text("Lighthouse keepers log the fog.\n\n" + "Tides. " * 300)
    assert run("index", "--no-embed", *where).returncode == 0
    partial = run("search", "fog at the lighthouse", *where)
    assert partial.returncode == 0, partial.stderr
    assert "note: vectors for " in partial.stderr and "results may be incomplete" in partial.stderr
    assert "note: vectors" not in run("search", "fog", "--mode", "bm25", *where).stderr
    waiting = run("status", "--wait", *where)
    assert waiting.returncode == 1
    assert "no daemon is running" in waiting.stderr


def test_names_resolve_alike_and_an_unindexed_vault_says_so(tmp_path: Path) -> None:
    vault = copy_example_vault(tmp_path / "vault")
    where = ("--vault", str(vault), "--state-dir", str(tmp_path / "state"))
    for command in (
        ("status",),
        ("read", "Retry Policy"),
        ("links", "Home"),
        ("backlinks", "Home"),
    ):
        done = run(*command, *where)
        assert done.returncode == 1, command
        assert "has not been indexed yet" in done.stderr and "run `companion index" in done.stderr
    assert run("index", "--no-embed", *where).returncode == 0
    version = json.loads(run("read", "Idempotency", "--json", *where).stdout)["version"]
    # update takes a name as a wikilink writes it, or an alias, like read, links and backlinks
    named = run(
        "update", "Idempotency", "--expect-version", str(version), "--set", "status=ok", *where
    )
    assert named.returncode == 0, named.stderr
    assert "status: ok" in (vault / "wiki/concepts/Idempotency.md").read_text()
    ambiguous = run("update", "Ledger", "--expect-version", "1", "--set", "status=x", *where)
    assert ambiguous.returncode == 1
    assert "'Ledger' names 3 notes" in ambiguous.stderr


def test_a_query_nothing_matches_lists_nothing_and_says_so_on_stderr(
    indexed: tuple[Path, Path],
) -> None:
    vault, state = indexed
    where = ("--vault", str(vault), "--state-dir", str(state))
    words = run("search", "zzzzqqqxx", "--mode", "bm25", *where)
    assert words.returncode == 0, words.stderr
    assert words.stdout == ""
    assert "nothing matched 'zzzzqqqxx': no note holds its words" in words.stderr
    # no daemon keeps this index current: the answer says it may miss recent edits
    assert "no daemon is running, so edits since the last `companion index`" in words.stderr
    meaning = run("search", "zzzzqqqxx", "--json", "--min-score", "0.95", *where)
    assert meaning.returncode == 0, meaning.stderr
    assert json.loads(meaning.stdout) == []
    assert "none is close in meaning (cosine below 0.95" in meaning.stderr
    assert "no daemon is running" in meaning.stderr
    assert run("search", "x", "--min-score", "2", *where).returncode == 2  # out of range


def test_graph_json_edges_carry_the_interface_fields(indexed: tuple[Path, Path]) -> None:
    vault, state = indexed
    out = run("graph", str(vault), "--json", "--state-dir", str(state))
    assert out.returncode == 0, out.stderr
    graph = json.loads(out.stdout)
    edge_keys = {"source", "target", "raw", "subpath", "kind", "resolved"}
    assert all(edge_keys <= set(e) for e in graph["edges"])
    kinds = {e["kind"] for e in graph["edges"]}
    assert kinds == {"wikilink", "embed", "markdown", "frontmatter"}
    by_raw = {(e["source"], e["raw"]): e for e in graph["edges"]}
    retry = by_raw[("services/payments/Retry Policy.md", "[[Overview|Payments API]]")]
    assert retry["target"] == "services/payments/Overview.md"  # own folder beats shorter path
    dr = by_raw[("runbooks/Ledger Failover.md", "[[Disaster Recovery Plan]]")]
    assert dr["target"] is None and dr["resolved"] is False
    assert any(n.get("ghost") for n in graph["nodes"])


def test_backlinks_lists_linking_notes(indexed: tuple[Path, Path]) -> None:
    vault, state = indexed
    out = run(
        "backlinks", "Retry Policy", "--vault", str(vault), "--state-dir", str(state), "--json"
    )
    assert out.returncode == 0, out.stderr
    sources = {e["source"] for e in json.loads(out.stdout)}
    assert "incidents/2024-03-14 Duplicate Card Charges.md" in sources
    assert "index.md" not in sources  # the generated catalog does not count


def test_status_reports_pages_chunks_embedding_and_database(indexed: tuple[Path, Path]) -> None:
    vault, state = indexed
    out = run("status", str(vault), "--state-dir", str(state), "--json")
    assert out.returncode == 0, out.stderr
    info = json.loads(out.stdout)
    assert info["notes"] >= 30 and info["chunks"] > info["notes"]
    assert info["embedded_pct"] == 100.0 and info["model"] == "all-MiniLM-L6-v2"
    assert info["database_bytes"] > 0 and info["last_index"]["added"] > 0


def test_nonexistent_vault_is_a_user_error(tmp_path: Path) -> None:
    out = run("index", str(tmp_path / "nope"), "--state-dir", str(tmp_path / "s"))
    assert out.returncode == 1
    assert "does not exist" in out.stderr and str(tmp_path / "nope") in out.stderr


def test_a_file_given_as_vault_is_a_user_error(tmp_path: Path) -> None:
    file = tmp_path / "note.md"
    file.write_text("x")
    out = run("index", str(file), "--state-dir", str(tmp_path / "s"))
    assert out.returncode == 1 and "not a folder" in out.stderr


def test_unwritable_state_dir_is_a_user_error(
    tmp_path: Path, make_vault: Callable[..., Path]
) -> None:
    vault = make_vault({"a.md": "x"})
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the state folder should be")
    out = run("index", str(vault), "--state-dir", str(blocker / "state"))
    assert out.returncode == 1
    assert "--state-dir" in out.stderr and "COMPANION_STATE_DIR" in out.stderr


def test_usage_errors_exit_with_2(tmp_path: Path) -> None:
    assert run("search").returncode == 2
    assert run("search", "x", "--mode", "fuzzy").returncode == 2
    assert run("no-such-command").returncode == 2


def test_unknown_note_for_backlinks_is_a_user_error(indexed: tuple[Path, Path]) -> None:
    vault, state = indexed
    out = run("backlinks", "No Such Note", "--vault", str(vault), "--state-dir", str(state))
    assert out.returncode == 1 and "No Such Note" in out.stderr


def test_vault_is_found_from_the_environment_and_enclosing_folder(
    indexed: tuple[Path, Path],
) -> None:
    vault, state = indexed
    env_run = run(
        "status", "--json", "--state-dir", str(state), env={"COMPANION_VAULT": str(vault)}
    )
    assert env_run.returncode == 0 and json.loads(env_run.stdout)["vault"] == str(vault.resolve())
    nested = run("status", "--json", "--state-dir", str(state), cwd=vault / "services" / "payments")
    assert nested.returncode == 0 and json.loads(nested.stdout)["vault"] == str(vault.resolve())


def test_init_scaffolds_a_vault_and_never_overwrites(tmp_path: Path) -> None:
    target = tmp_path / "new"
    first = run("init", str(target))
    assert first.returncode == 0, first.stderr
    for rel in (
        "SYSTEM.md",
        "templates/entity.md",
        "wiki/entities",
        "sources",
        ".obsidian/templates.json",
    ):
        assert (target / rel).exists(), rel
    (target / "SYSTEM.md").write_text("---\nschema_version: 1\n---\nmine\n")
    second = run("init", str(target))
    assert second.returncode == 0 and "nothing changed" in second.stdout
    assert (target / "SYSTEM.md").read_text() == "---\nschema_version: 1\n---\nmine\n"


def test_help_teaches_the_commands() -> None:
    out = run("--help")
    assert out.returncode == 0
    for word in ("init", "index", "search", "graph", "backlinks", "status", "Quick start"):
        assert word in out.stdout
    assert "Examples" in run("search", "--help").stdout


def test_update_without_a_daemon_is_compare_and_swap(
    tmp_path: Path, make_vault: Callable[..., Path]
) -> None:
    vault = make_vault(
        {"wiki/concepts/Tide.md": "---\ntype: concept\nversion: 2\n---\nTides rise.\n"}
    )
    where = ["--vault", str(vault), "--state-dir", str(tmp_path / "s")]
    page = vault / "wiki" / "concepts" / "Tide.md"
    before = page.read_bytes()
    conflict = run("update", "wiki/concepts/Tide", "--expect-version", "1", "--body", "x", *where)
    assert conflict.returncode == 3 and "version 2, not 1" in conflict.stderr
    assert page.read_bytes() == before
    done = run(
        "update", "wiki/concepts/Tide", "--expect-version", "2", "--set", "status=draft", *where
    )
    assert done.returncode == 0, done.stderr
    assert "version 2 -> 3" in done.stdout
    text = page.read_text()
    assert "version: 3" in text and "status: draft" in text and text.endswith("---\nTides rise.\n")
    assert "update | `wiki/concepts/Tide.md` version 2 → 3" in (vault / "log.md").read_text()


def test_a_binary_body_file_is_a_usage_error_with_nothing_written(tmp_path: Path) -> None:
    page = "wiki/concepts/Tide.md"
    vault = tmp_path / "vault"
    (vault / "wiki" / "concepts").mkdir(parents=True)
    (vault / page).write_text("---\nversion: 1\n---\nTides rise.\n", encoding="utf-8")
    blob = tmp_path / "body.bin"
    blob.write_bytes(b"\xff\xfe\x00\x01 not text")
    env = {"COMPANION_STATE_DIR": str(tmp_path / "state"), "COMPANION_EMBED_BACKEND": "fake"}
    done = run(
        "update",
        page,
        "--expect-version",
        "1",
        "--body-file",
        str(blob),
        "--vault",
        str(vault),
        env=env,
    )
    assert done.returncode == 2, done.stderr
    assert "not UTF-8 text" in done.stderr and "Traceback" not in done.stderr
    assert (vault / page).read_text(encoding="utf-8") == "---\nversion: 1\n---\nTides rise.\n"


# -- init in and around existing vaults ------------------------------------------------------------


def obsidian_vault(root: Path) -> Path:
    """A vault as Obsidian leaves it: templates in `Templates/`, one note, one template of its own."""
    (root / ".obsidian").mkdir(parents=True)
    (root / ".obsidian" / "templates.json").write_text('{"folder": "Templates"}')
    (root / "Templates").mkdir()
    (root / "Templates" / "Daily.md").write_text("---\ncreated: {{date}}\n---\n# {{title}}\n")
    (root / "notes").mkdir()
    (root / "notes" / "Lighthouse.md").write_text("A note about lighthouses.\n")
    return root


def test_init_without_a_path_inside_a_vault_fills_that_vault(tmp_path: Path) -> None:
    vault = obsidian_vault(tmp_path / "v")
    done = run("init", cwd=vault / "notes")
    assert done.returncode == 0, done.stderr
    assert not (vault / "notes" / "vault").exists()  # no vault inside the vault
    assert (vault / "Templates" / "entity.md").is_file() and not (vault / "templates").exists()
    lines = done.stdout.splitlines()
    assert lines[0].startswith(f"the existing vault {vault.resolve()}; templates go to Templates/")
    assert f"created {vault.resolve() / 'Templates' / 'entity.md'}" in lines
    assert f"kept {vault.resolve() / '.obsidian'}/ (already there)" in lines


def test_init_of_a_folder_inside_a_vault_is_refused_naming_the_vault(tmp_path: Path) -> None:
    vault = obsidian_vault(tmp_path / "v")
    done = run("init", "v/notes/new", cwd=tmp_path)
    assert done.returncode == 1
    assert f"inside the vault {vault.resolve()}" in done.stderr
    assert not (vault / "notes" / "new").exists() and not (vault / "SYSTEM.md").exists()


def test_init_dry_run_lists_every_file_and_writes_nothing(tmp_path: Path) -> None:
    vault = obsidian_vault(tmp_path / "v")
    before = sorted(p.relative_to(vault) for p in vault.rglob("*"))
    done = run("init", "--dry-run", str(vault))
    assert done.returncode == 0, done.stderr
    assert sorted(p.relative_to(vault) for p in vault.rglob("*")) == before
    lines = done.stdout.splitlines()
    assert f"would create {vault / 'SYSTEM.md'}" in lines
    assert f"would keep {vault / 'Templates'}/ (already there)" in lines
    assert sum(line.startswith("would create ") for line in lines) == 10
    assert lines[-1].startswith("dry run: nothing written (10 to create)")


def test_templates_init_adds_to_an_existing_vault_are_never_indexed_as_notes(
    tmp_path: Path,
) -> None:
    vault = obsidian_vault(tmp_path / "v")
    env = {"COMPANION_STATE_DIR": str(tmp_path / "state"), "COMPANION_EMBED_BACKEND": "fake"}
    assert run("init", str(vault)).returncode == 0
    concept = vault / "wiki" / "concepts" / "Example Concept.md"
    concept.write_text("---\ntype: concept\n---\nAn example concept.\n", encoding="utf-8")
    done = run("index", str(vault), "--no-embed", "--json", env=env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["problems"] == []  # `{{date}}` in a template is no problem
    catalog = (vault / "index.md").read_text(encoding="utf-8")
    assert "Templates/" not in catalog and "Lighthouse" in catalog
    # The shipped templates link to example pages: as templates, those links do not count.
    back = run(
        "backlinks", "wiki/concepts/Example Concept", "--json", "--vault", str(vault), env=env
    )
    assert back.returncode == 0 and json.loads(back.stdout) == [], back.stderr
    found = run("search", "sentences", "--mode", "bm25", "--json", "--vault", str(vault), env=env)
    assert found.returncode == 0 and json.loads(found.stdout) == []


def test_update_speaks_plainly_about_no_ops_lists_and_new_pages(
    tmp_path: Path, make_vault: Callable[..., Path]
) -> None:
    vault = make_vault({"wiki/concepts/Tide.md": "---\nversion: 1\ntags:\n  - sea\n---\nTides.\n"})
    env = {"COMPANION_EMBED_BACKEND": "fake"}
    where = ["--vault", str(vault), "--state-dir", str(tmp_path / "s")]
    page = vault / "wiki" / "concepts" / "Tide.md"
    missing = run("update", "wiki/concepts/Tide", "--body", "x", *where, env=env)
    assert missing.returncode == 2 and "--expect-version is required" in missing.stderr
    same = run("update", "wiki/concepts/Tide", "--expect-version", "1", *where, env=env)
    assert same.returncode == 0 and "nothing to change" in same.stdout
    assert page.read_text() == "---\nversion: 1\ntags:\n  - sea\n---\nTides.\n"
    on_list = run(
        "update", "wiki/concepts/Tide", "--expect-version", "1", "--set", "tags=x", *where, env=env
    )
    assert on_list.returncode == 1 and "--add tags=" in on_list.stderr
    added = run(
        "update",
        "wiki/concepts/Tide",
        "--expect-version",
        "1",
        "--add",
        "tags=moon",
        *where,
        env=env,
    )
    assert added.returncode == 0 and "version 1 -> 2" in added.stdout, added.stderr
    assert "  - sea\n  - moon\n" in page.read_text()
    new = run(
        "update", "wiki/entities/Harbour", "--create", "--body", "A harbour.", *where, env=env
    )
    assert new.returncode == 0 and "created wiki/entities/Harbour.md: version 1" in new.stdout
    assert "type: entity" in (vault / "wiki" / "entities" / "Harbour.md").read_text()
    again = run("update", "wiki/entities/Harbour", "--create", "--body", "x", *where, env=env)
    assert again.returncode == 3 and "already exists" in again.stderr
