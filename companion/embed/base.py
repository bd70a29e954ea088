"""What every embedding backend shares: the `Embedder` protocol, `ModelInfo`, and the base class.

Nothing here imports a backend, NumPy or torch: `model_info` (in the package face) and the index
can describe a model without loading one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from companion.config import DEFAULT_EMBED_BACKEND as DEFAULT_BACKEND

if TYPE_CHECKING:
    import numpy as np

CHUNKER_VERSION = "c1"  # bump when markdown.digest.chunk_note changes what a chunk contains
ONNX_EXPORT_VERSION = (
    "e3"  # bump when the int8 export, quantization or run recipe changes (re-embeds)
)


class Embedder(Protocol):
    fingerprint: str
    dim: int
    window: int  # the model's max sequence length in tokens
    # The cosine below which a query and a text are unrelated for this model: search shows no
    # page that only the vector channel found below it (`companion search --min-score`).
    min_cosine: float

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-normalised float32 vectors, one row per text."""
        ...

    def load(self) -> None:
        """Load the model now (a few seconds), so that timing the embedding excludes it."""
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


def chunk_chars_for(window: int) -> int:
    """Chunk budget in characters for a model window in tokens (~3.5 chars per WordPiece token)."""
    return max(400, int(window * 3.5))


# all-MiniLM-L6-v2 on the example vault (docs/benchmarks.md, "Weak matches"): gibberish and
# off-topic queries' nearest chunks at cosine 0.07-0.22, the notes a person chose for the natural
# questions at 0.37-0.73. Other sentence-transformers models of its kind spread alike; a model
# that does not can be given its own floor with `--min-score`.
MIN_COSINE = 0.3


class ModelEmbedder:
    """What every backend keeps of its model: the `Embedder` attributes and the batch size."""

    min_cosine = MIN_COSINE

    def __init__(self, info: ModelInfo, batch_size: int = 32) -> None:
        self.info = info
        self.fingerprint = info.fingerprint
        self.dim = info.dim
        self.window = info.window
        self.batch_size = batch_size
