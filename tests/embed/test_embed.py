"""Embedding with the real bundled model: never twice, model changes detected, resumable."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pytest

from companion.embed import Embedder, model_info
from companion.errors import ModelError
from tests.helpers import OpenApp

NOTES: dict[str, str | bytes] = {
    f"note {i}.md": f"# Topic {i}\n\nParagraph about subject number {i} and its details.\n\n## More\n\nSecond part {i}.\n"
    for i in range(12)
}


class CountingEmbedder:
    """A model, counting what it is asked to embed and optionally stopping midway."""

    def __init__(self, inner: Embedder, stop_after_calls: int | None = None) -> None:
        self.inner = inner
        self.fingerprint = inner.fingerprint
        self.dim = inner.dim
        self.window = inner.window
        self.min_cosine = inner.min_cosine
        self.texts: list[str] = []
        self.stop_after_calls = stop_after_calls

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if self.stop_after_calls is not None and self.stop_after_calls <= 0:
            raise KeyboardInterrupt
        if self.stop_after_calls is not None:
            self.stop_after_calls -= 1
        self.texts.extend(texts)
        return self.inner.embed(texts)

    def load(self) -> None:
        self.inner.load()


def test_bundled_model_loads_offline_and_gives_unit_vectors(
    real_embedder: Embedder,
) -> None:
    embedder = real_embedder
    vectors = embedder.embed(["card payments are retried", "the ledger uses PostgreSQL"])
    assert vectors.shape == (2, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    assert embedder.window == 256


def test_unknown_model_name_is_a_clear_error_without_network() -> None:
    with pytest.raises(ModelError, match="never downloads"):
        model_info("some-org/not-installed-model")


def test_unchanged_chunks_are_never_embedded_twice(
    make_vault: Callable[..., Path], open_app: OpenApp, embedder: Embedder
) -> None:
    vault = make_vault(NOTES)
    app = open_app(vault)
    counter = CountingEmbedder(embedder)
    app.use_embedder(counter)
    app.index()
    first = len(counter.texts)
    assert first == app.store.vectors.counts(embedder.fingerprint)[0] > 0
    app.index()
    assert len(counter.texts) == first
    # Edit one section of one note: only that chunk is embedded again.
    note = vault / "note 3.md"
    note.write_text(
        note.read_text(encoding="utf-8").replace("Second part 3.", "Changed part."),
        encoding="utf-8",
    )
    app.index()
    assert len(counter.texts) == first + 1
    # A rename costs nothing: chunk text excludes the title.
    (vault / "note 4.md").rename(vault / "renamed.md")
    app.index()
    assert len(counter.texts) == first + 1


def test_a_different_model_fingerprint_re_embeds_everything(
    make_vault: Callable[..., Path],
    open_app: OpenApp,
    tmp_path: Path,
    embedder: Embedder,
) -> None:
    vault = make_vault(NOTES)
    app = open_app(vault)
    app.index()
    total = app.store.vectors.counts(embedder.fingerprint)[0]
    # The same weights copied to another folder with a changed setting are a different model.
    other = Path(shutil.copytree(model_info("all-MiniLM-L6-v2").location, tmp_path / "my-model"))
    config = other / "sentence_bert_config.json"
    config.write_text(config.read_text().replace("256", "128"), encoding="utf-8")
    changed = open_app(vault, model=str(other))
    assert changed.model.fingerprint != embedder.fingerprint
    result = changed.index()
    assert result.reembedded_all
    assert changed.store.vectors.counts(changed.model.fingerprint)[1] >= total


def test_interrupted_embedding_resumes_without_redoing_finished_chunks(
    make_vault: Callable[..., Path],
    open_app: OpenApp,
    embedder: Embedder,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("companion.app.EMBED_BATCH", 5)
    vault = make_vault(NOTES)
    app = open_app(vault)
    stopping = CountingEmbedder(embedder, stop_after_calls=2)
    app.use_embedder(stopping)
    with pytest.raises(KeyboardInterrupt):
        app.index()
    total, done = app.store.vectors.counts(embedder.fingerprint)
    assert done == 10 and total > done
    # Text search works before embeddings finish.
    assert app.search("subject number 7", mode="bm25")[0].path == "note 7.md"
    resumed = CountingEmbedder(embedder)
    app.use_embedder(resumed)
    app.index()
    assert len(resumed.texts) == total - 10
    assert not set(resumed.texts) & set(stopping.texts)
    assert app.store.vectors.counts(embedder.fingerprint) == (total, total)


def test_a_model_name_in_the_local_hugging_face_cache_is_used_offline(
    tmp_path: Path, embedder: Embedder
) -> None:
    import subprocess
    import sys

    snapshot = tmp_path / "hub" / "models--acme--mini" / "snapshots" / "abc123"
    shutil.copytree(model_info("all-MiniLM-L6-v2").location, snapshot)
    refs = tmp_path / "hub" / "models--acme--mini" / "refs"
    refs.mkdir()
    (refs / "main").write_text("abc123")
    code = "from companion.embed import model_info; i = model_info('acme/mini'); print(i.location, i.dim)"
    env = {"HF_HUB_CACHE": str(tmp_path / "hub"), "HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert out.stdout.split() == [str(snapshot), "384"]


def test_embedding_reports_progress_after_every_small_step(
    make_vault: Callable[..., Path], open_app: OpenApp
) -> None:
    from companion.app import EMBED_BATCH

    notes: dict[str, str | bytes] = {
        f"n{i}.md": f"# Part {i}\n" + f"Harbour entry {i} in the keeper's log. " * 60
        for i in range(100)
    }
    app = open_app(make_vault(notes))
    result = app.index(embed=False)
    calls: list[tuple[int, int]] = []
    done = app.embed_pending(result, lambda n, total: calls.append((n, total)))
    total = calls[0][1]
    assert done == total > 2 * EMBED_BATCH
    # the bar moves after each step of EMBED_BATCH chunks, not once at the end
    assert [n for n, _ in calls] == [0, *range(EMBED_BATCH, total, EMBED_BATCH), total]
