"""The int8 backend: exported locally from the shipped weights, cached, faithful to fp32."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from companion.config import DEFAULT_EMBED_BACKEND, load_settings
from companion.embed import Embedder, load_embedder, model_info
from companion.embed.onnx import OnnxInt8Embedder, exported_model_path, pooling_mode
from companion.errors import ModelError

TEXTS = [
    "Card payments that fail are retried three times with exponential back-off.",
    "The ledger service stores balances in PostgreSQL and publishes events to Kafka.",
    "Tides in the harbour follow the moon; the lighthouse keeper logs them at dawn.",
    "Vitamin D deficiency is associated with a higher risk of bone fractures in adults.",
    "  leading and trailing spaces are ignored, as sentence-transformers does  ",
    "short",
]


@pytest.fixture(scope="module")
def fp32() -> Embedder:
    return load_embedder("all-MiniLM-L6-v2", backend="torch")


def test_default_backend_is_int8_and_its_fingerprint_differs_from_fp32() -> None:
    assert DEFAULT_EMBED_BACKEND == "int8"
    int8, torch = model_info("all-MiniLM-L6-v2", "int8"), model_info("all-MiniLM-L6-v2", "torch")
    assert int8.fingerprint != torch.fingerprint  # switching backends re-embeds every chunk
    assert "int8" in int8.fingerprint and (int8.dim, int8.window) == (torch.dim, torch.window)


def test_int8_vectors_point_where_fp32_vectors_point(
    real_embedder: Embedder, fp32: Embedder
) -> None:
    embedder = real_embedder
    assert isinstance(embedder, OnnxInt8Embedder)
    a, b = fp32.embed(TEXTS), embedder.embed(TEXTS)
    assert b.shape == (len(TEXTS), 384) and b.dtype == np.float32
    assert np.allclose(np.linalg.norm(b, axis=1), 1.0, atol=1e-4)
    cosines = np.sum(a * b, axis=1)
    assert cosines.min() > 0.97, cosines
    # Same nearest neighbour for every text: quantization noise never reorders clear matches.
    assert (
        np.argmax(a @ a.T - 2 * np.eye(len(TEXTS)), axis=1)
        == np.argmax(b @ b.T - 2 * np.eye(len(TEXTS)), axis=1)
    ).all()


def test_int8_order_and_batching_do_not_change_a_texts_vector(real_embedder: Embedder) -> None:
    embedder = real_embedder
    alone = np.stack([embedder.embed([t])[0] for t in TEXTS])
    together = embedder.embed(TEXTS)
    assert np.allclose(alone, together, atol=2e-3)
    assert embedder.embed([]).shape == (0, 384)


def test_text_longer_than_the_window_is_truncated_not_an_error(real_embedder: Embedder) -> None:
    embedder = real_embedder
    long = " ".join(f"word{i}" for i in range(3000))
    vectors = embedder.embed([long, "short"])
    assert vectors.shape == (2, 384) and np.isfinite(vectors).all()


@pytest.mark.slow
def test_export_is_cached_and_a_corrupt_cache_is_rebuilt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COMPANION_CACHE_DIR", str(tmp_path / "cache"))
    info = model_info("all-MiniLM-L6-v2", "int8")
    path = exported_model_path(info)
    assert str(path).startswith(str(tmp_path / "cache"))
    first = OnnxInt8Embedder(info)
    reference = first.embed(TEXTS[:2])
    assert path.is_file()
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".")]  # no temporaries left
    stamp = path.stat().st_mtime_ns
    again = OnnxInt8Embedder(info)
    again.embed(TEXTS[:1])
    assert path.stat().st_mtime_ns == stamp  # loaded from the cache, not exported again
    path.write_bytes(b"not an onnx model")
    rebuilt = OnnxInt8Embedder(info)
    assert np.allclose(rebuilt.embed(TEXTS[:2]), reference, atol=1e-5)
    assert path.stat().st_size > 1_000_000


def test_an_unwritable_cache_is_a_clear_model_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("a file where the cache folder should be")
    monkeypatch.setenv("COMPANION_CACHE_DIR", str(blocker))
    with pytest.raises(ModelError, match="COMPANION_EMBED_BACKEND=torch"):
        OnnxInt8Embedder(model_info("all-MiniLM-L6-v2", "int8")).embed(["x"])


def test_unknown_backend_is_a_model_error_naming_the_choices(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COMPANION_EMBED_BACKEND", "gpu-magic")
    settings = load_settings(tmp_path)  # the registry, not the settings, knows the backends
    with pytest.raises(
        ModelError, match="unknown embedding backend 'gpu-magic'; choose one of int8, torch"
    ):
        model_info(settings.model, settings.embed_backend)


def test_backend_flag_beats_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COMPANION_EMBED_BACKEND", "torch")
    assert load_settings(tmp_path).embed_backend == "torch"
    assert load_settings(tmp_path, embed_backend="int8").embed_backend == "int8"
    monkeypatch.delenv("COMPANION_EMBED_BACKEND")
    assert load_settings(tmp_path).embed_backend == "int8"
    assert os.environ.get("COMPANION_EMBED_BACKEND") is None


def test_models_the_int8_path_cannot_reproduce_are_refused(tmp_path: Path) -> None:
    bundled = Path(model_info("all-MiniLM-L6-v2", "int8").location)
    assert pooling_mode(bundled) == "mean"
    dense = tmp_path / "dense"
    dense.mkdir()
    (dense / "modules.json").write_text(
        '[{"type": "sentence_transformers.models.Transformer"},'
        ' {"type": "sentence_transformers.models.Pooling"},'
        ' {"type": "sentence_transformers.models.Dense"}]'
    )
    with pytest.raises(ModelError, match=r"Dense.*COMPANION_EMBED_BACKEND=torch"):
        pooling_mode(dense)
    two = tmp_path / "two"
    (two / "1_Pooling").mkdir(parents=True)
    (two / "1_Pooling" / "config.json").write_text(
        '{"pooling_mode_mean_tokens": true, "pooling_mode_max_tokens": true}'
    )
    with pytest.raises(ModelError, match="max_tokens, mean_tokens"):
        pooling_mode(two)
    cls = tmp_path / "cls"
    (cls / "1_Pooling").mkdir(parents=True)
    (cls / "1_Pooling" / "config.json").write_text(
        '{"pooling_mode_cls_token": true, "pooling_mode_mean_tokens": false}'
    )
    assert pooling_mode(cls) == "cls"
