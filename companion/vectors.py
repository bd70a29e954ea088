"""An in-memory copy of the vector table, for a long-lived process (the daemon).

sqlite-vec's KNN scans every stored vector through SQL on each query; at 10k notes (77k chunks)
that is ~55–70 ms, while one NumPy matrix product over the same vectors takes a few
milliseconds. The daemon keeps the vectors as one float32 matrix and follows the store: new
embeddings (ids above the last one seen) are appended, and any removal — which bumps the store's
vector epoch — reloads the copy. One-shot commands keep using sqlite-vec: loading every vector to
answer a single query would cost more than it saves.
"""

from __future__ import annotations

import threading

import numpy as np

from companion.store import Store

MAX_IN_MEMORY = 400_000  # vectors (~600 MB at 384 dimensions); above this, sqlite-vec answers


class VectorIndex:
    def __init__(self, fingerprint: str, dim: int) -> None:
        self.fingerprint = fingerprint
        self.dim = dim
        self.hashes: list[str] = []
        self.matrix = np.zeros((0, dim), dtype=np.float32)
        self.size = 0  # rows of `matrix` in use (it grows by doubling)
        self.epoch = ""
        self.last_id = 0
        self.lock = threading.Lock()

    def refresh(self, store: Store) -> bool:
        """Bring the copy in step with the store; False when it is too big to keep in memory."""
        epoch, last_id = store.vector_state()
        with self.lock:
            if epoch != self.epoch:
                self.hashes, self.size, self.last_id = [], 0, 0
                self.epoch = epoch
            if last_id > self.last_id:
                rows = store.vectors_after(self.fingerprint, self.last_id)
                self._append(rows)
                self.last_id = last_id
            return self.size <= MAX_IN_MEMORY

    def _append(self, rows: list[tuple[int, str, bytes]]) -> None:
        if not rows:
            return
        needed = self.size + len(rows)
        if needed > self.matrix.shape[0]:
            # Grow by a quarter: a doubling buffer would hold up to twice the vectors' memory.
            capacity = max(needed, int(1.25 * self.matrix.shape[0]), 1024)
            grown = np.zeros((capacity, self.dim), dtype=np.float32)
            grown[: self.size] = self.matrix[: self.size]
            self.matrix = grown
        block = np.frombuffer(b"".join(blob for _, _, blob in rows), dtype=np.float32)
        self.matrix[self.size : needed] = block.reshape(len(rows), self.dim)
        self.hashes.extend(h for _, h, _ in rows)
        self.size = needed

    def nearest(self, vector: np.ndarray, k: int) -> list[tuple[str, float]]:
        """(chunk hash, cosine distance) of the k nearest vectors (all vectors are unit length)."""
        with self.lock:
            if self.size == 0:
                return []
            sims = self.matrix[: self.size] @ vector.astype(np.float32)
            k = min(k, self.size)
            top = np.argpartition(-sims, k - 1)[:k]
            order = top[np.argsort(-sims[top])]
            return [(self.hashes[i], float(1.0 - sims[i])) for i in order]
