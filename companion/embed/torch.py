"""The fp32 backend: sentence-transformers on the CPU (`COMPANION_EMBED_BACKEND=torch`)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from companion.embed.base import ModelEmbedder, ModelInfo
from companion.errors import ModelError


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
