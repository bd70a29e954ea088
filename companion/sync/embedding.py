"""One batch of chunks -> vectors, or the reason the model failed on them: the embedding step that
one-shot `index` and the daemon's embedding thread share.

`embed_batch` runs the model and touches no database, so the daemon calls it on its embedding
thread; `store_batch` records the outcome (vectors, or the failure and why) and runs on whoever
owns the write connection. A model that cannot load at all is a `ModelError` and propagates: every
chunk failing for that reason would say nothing useful.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from companion.errors import ModelError

if TYPE_CHECKING:
    from companion.embed import Embedder
    from companion.store.db import Store

Chunk = tuple[str, str]  # (chunk hash, text)


@dataclass(frozen=True, slots=True)
class BatchOutcome:
    chunks: Sequence[Chunk]
    vectors: list[tuple[str, bytes]] | None = None  # (chunk hash, float32 bytes) on success
    error: str | None = None  # why the model failed on this batch

    @property
    def done(self) -> int:
        return 0 if self.vectors is None else len(self.vectors)


def embed_batch(embedder: Embedder, chunks: Sequence[Chunk]) -> BatchOutcome:
    """Embed one batch; a failure of this batch (not of the model) is returned, not raised."""
    try:
        vectors = embedder.embed([text for _, text in chunks])
    except ModelError:
        raise  # the model itself is unusable: say so, do not mark every chunk failed
    except Exception as exc:  # one bad batch must not stop the rest: record why, go on
        return BatchOutcome(chunks, error=f"{type(exc).__name__}: {exc}")
    rows = [(h, v.tobytes()) for (h, _), v in zip(chunks, vectors, strict=True)]
    return BatchOutcome(chunks, vectors=rows)


def store_batch(store: Store, fingerprint: str, outcome: BatchOutcome) -> None:
    """Record a batch's vectors, or its failure (skipped until the model changes or a restart)."""
    if outcome.vectors is not None:
        store.vectors.add(fingerprint, outcome.vectors)
    else:
        reason = outcome.error or "unknown error"
        store.vectors.record_failures(fingerprint, [h for h, _ in outcome.chunks], reason)
