"""A deterministic stand-in for a model: for tests that are not about retrieval quality.

Each word of a text (lower-cased `\\w+`) picks a few dimensions from its sha256 and adds ±1 to them;
the sum is normalised to a unit vector. Texts sharing words are therefore closer than texts that
share none, the same text always gives the same vector, and nothing is loaded: the whole pipeline
(chunking, the vector table, KNN, fusion, the daemon's embedding thread) runs as with a real
model, in microseconds. Registered as the `fake` backend, with its own fingerprint tag, so its
vectors are never mixed with a real model's.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

import numpy as np

from companion.embed.base import ModelEmbedder, ModelInfo

_WORD = re.compile(r"\w+")
_PICKS = 4  # dimensions each word touches


class FakeEmbedder(ModelEmbedder):
    # Its cosines count shared words, not meaning: no floor (tests of the floor pass one).
    min_cosine = 0.0

    def __init__(self, info: ModelInfo, batch_size: int = 32) -> None:
        super().__init__(info, batch_size)
        self.calls = 0  # embed() calls, for tests that count model work

    def load(self) -> None:
        """Nothing to load."""

    def _word(self, word: str) -> np.ndarray:
        digest = hashlib.sha256(word.encode("utf-8")).digest()
        vector = np.zeros(self.dim, dtype=np.float32)
        for i in range(_PICKS):
            index = int.from_bytes(digest[4 * i : 4 * i + 3], "little") % self.dim
            vector[index] += 1.0 if digest[4 * i + 3] & 1 else -1.0
        return vector

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.calls += 1
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in _WORD.findall(text.casefold()):
                out[row] += self._word(word)
            norm = float(np.linalg.norm(out[row]))
            if norm == 0.0:  # no words: a fixed unit vector, so every text has a direction
                out[row, 0] = 1.0
            else:
                out[row] /= norm
        return out
