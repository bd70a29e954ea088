"""The benchmark vault generator: deterministic, and shaped like a real vault (fast: no model)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bench import synth
from companion.markdown.parse import parse_note
from companion.markdown.resolve import Resolver

N = 500


def _files(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def vault(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, synth.Stats]:
    root = tmp_path_factory.mktemp("synth") / "vault"
    return root, synth.generate(N, root, seed=7)


def test_same_seed_same_files(vault: tuple[Path, synth.Stats], tmp_path: Path) -> None:
    root, _ = vault
    again = synth.generate(N, tmp_path / "again", seed=7)
    assert _files(root) == _files(tmp_path / "again")
    assert again.links == vault[1].links


def test_other_seed_other_files(vault: tuple[Path, synth.Stats], tmp_path: Path) -> None:
    synth.generate(N, tmp_path / "other", seed=8)
    assert _files(vault[0]) != _files(tmp_path / "other")


def test_worker_count_does_not_change_files(tmp_path: Path) -> None:
    # Each note has its own RNG stream, so the split between workers does not matter.
    synth.generate(200, tmp_path / "one", seed=3, jobs=1)
    synth.generate(200, tmp_path / "two", seed=3, jobs=2)
    assert _files(tmp_path / "one") == _files(tmp_path / "two")


def test_shape(vault: tuple[Path, synth.Stats]) -> None:
    root, _ = vault
    notes = sorted(root.rglob("*.md"))
    assert len(notes) == N
    top = {p.relative_to(root).parts[0] for p in notes}
    assert {"projects", "wiki", "daily", "resources"} <= top
    words = np.array([len(p.read_text(encoding="utf-8").split()) for p in notes])
    assert 250 <= np.median(words) <= 600
    assert words.min() < 60 and words.max() > 2500
    texts = [p.read_text(encoding="utf-8") for p in notes]
    joined = "\n".join(texts)
    for marker in ("\n```", "> [!", "| --- |", "![[", "aliases: [", "tags: [", "\n## ", "- [ ] "):
        assert marker in joined, marker
    parsed = [parse_note(p.read_bytes(), p.relative_to(root).as_posix()) for p in notes]
    assert sum(bool(n.aliases) for n in parsed) > N * 0.1
    assert sum(bool(n.headings) for n in parsed) > N * 0.5
    assert not [n.problems for n in parsed if n.problems]


def test_link_degree_is_heavy_tailed(vault: tuple[Path, synth.Stats]) -> None:
    _, stats = vault
    deg = np.sort(np.array(stats.in_degree))[::-1]
    assert deg.sum() > N * 5
    # A few hubs hold a large share of all inbound links; most notes are leaves.
    assert deg[: N // 100].sum() > 0.2 * deg.sum()
    assert deg[0] > 20 * max(1, np.median(deg))
    assert np.median(deg) <= 3


def test_unresolved_and_ambiguous_links(vault: tuple[Path, synth.Stats]) -> None:
    root, stats = vault
    assert stats.unresolved_links > 0 and stats.ambiguous_links > 0
    paths = [p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()]
    resolver = Resolver(paths)
    unresolved = ambiguous = total = 0
    for rel in paths:
        if not rel.endswith(".md"):
            continue
        note = parse_note((root / rel).read_bytes(), rel)
        for link in note.links:
            total += 1
            res = resolver.resolve(link.path, rel)
            unresolved += res.target is None
            ambiguous += bool(res.ambiguous)
    assert 0.01 * total < unresolved < 0.1 * total
    assert ambiguous > 0


def test_queries_come_from_the_vault(vault: tuple[Path, synth.Stats]) -> None:
    root, _ = vault
    qs = synth.queries(root, 50, seed=1)
    assert len(qs) == 50 and qs == synth.queries(root, 50, seed=1)
    for query, src in qs:
        assert len(query.split()) >= 1
        text = (root / src).read_text(encoding="utf-8").lower()
        assert query.split()[0] in text
