"""An in-memory copy of the vector table, for a long-lived process (the daemon, a server).

sqlite-vec's KNN scans every stored vector through SQL on each query: ~60 ms at 10k notes (77k
chunks), ~530 ms at 100k (766k chunks). A NumPy matrix product over the same vectors is
memory-bound and takes a few milliseconds per 100k vectors. The copy follows the store: new
embeddings (ids above the last one seen) are appended, and any removal — which bumps the store's
vector epoch — reloads it. One-shot commands keep using sqlite-vec: loading every vector to
answer a single query would cost more than it saves.

Up to `FLOAT_LIMIT` vectors the copy is float32 and exact. Above it, rows are stored as int8 with
one float32 scale per row (a quarter of the memory: ~300 MB instead of 1.2 GB at 766k vectors
of 384 dimensions), and scored block by block; the rounding moves a cosine by about 1e-3, so
only near-ties can swap places, and a query costs about what the float32 product would (the
int8 rows are widened a cache-sized block at a time). Above `MAX_IN_MEMORY`, no copy is kept and sqlite-vec answers.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from companion.store.db import Store

FLOAT_LIMIT = 250_000  # vectors kept exactly (~384 MB at 384 dimensions)
MAX_IN_MEMORY = 2_000_000  # vectors (~800 MB as int8 at 384 dimensions); above, sqlite-vec
# Rows scored at a time in int8 mode: a float32 block small enough to stay in cache. At 766k x 384,
# blocks of 1,024 took 48 ms a query, 256 67 ms, 4,096 314 ms; float32 throughout took 56 ms.
_BLOCK = 1024
_LOAD_BATCH = 20_000  # rows read from the store at a time


class VectorIndex:
    def __init__(
        self,
        fingerprint: str,
        dim: int,
        float_limit: int = FLOAT_LIMIT,
        max_in_memory: int = MAX_IN_MEMORY,
    ) -> None:
        self.fingerprint = fingerprint
        self.dim = dim
        self.float_limit = float_limit
        self.max_in_memory = max_in_memory
        self.epoch = ""
        self.last_id = 0
        self.too_big = False
        self.lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()
        self._empty()

    def _empty(self) -> None:
        """No rows, no memory held."""
        self.hashes: list[str] = []
        self.matrix: np.ndarray = np.zeros((0, self.dim), dtype=np.float32)
        self.scales = np.zeros(0, dtype=np.float32)  # int8 mode: one scale per row
        self.size = 0  # rows of `matrix` in use (it grows by a quarter at a time)

    @property
    def quantized(self) -> bool:
        return self.matrix.dtype == np.int8

    def refresh(self, store: Store) -> bool:
        """Bring the copy in step with the store; False when it is too big to keep in memory."""
        epoch, last_id = store.vectors.state()
        with self.lock:
            if epoch != self.epoch:
                self._empty()
                self.last_id, self.too_big, self.epoch = 0, False, epoch
            if last_id > self.last_id and not self.too_big:
                for rows in _batches(store.vectors.after(self.fingerprint, self.last_id)):
                    if self.size + len(rows) > self.max_in_memory:
                        self.too_big = True  # free the memory: sqlite-vec answers from now on
                        self._empty()
                        break
                    self._append(rows)
                    self.last_id = rows[-1][0]  # ids ascend; rows newer than last_id count too
            return not self.too_big

    def _append(self, rows: list[tuple[int, str, bytes]]) -> None:
        block = np.frombuffer(b"".join(blob for _, _, blob in rows), dtype=np.float32)
        block = block.reshape(len(rows), self.dim)
        needed = self.size + len(rows)
        if needed > self.float_limit and not self.quantized:
            self._quantize_all()
        if needed > self.matrix.shape[0]:
            # Grow by a quarter: a doubling buffer would hold up to twice the vectors' memory.
            capacity = max(needed, int(1.25 * self.matrix.shape[0]), 1024)
            grown = np.zeros((capacity, self.dim), dtype=self.matrix.dtype)
            grown[: self.size] = self.matrix[: self.size]
            self.matrix = grown
            if self.quantized:
                scales = np.zeros(capacity, dtype=np.float32)
                scales[: self.size] = self.scales[: self.size]
                self.scales = scales
        if self.quantized:
            q, s = _to_int8(block)
            self.matrix[self.size : needed] = q
            self.scales[self.size : needed] = s
        else:
            self.matrix[self.size : needed] = block
        self.hashes.extend(h for _, h, _ in rows)
        self.size = needed

    def _quantize_all(self) -> None:
        """Switch the float32 rows to int8, a block at a time (no second full-size float copy)."""
        q = np.empty((self.size, self.dim), dtype=np.int8)
        scales = np.empty(self.size, dtype=np.float32)
        for start in range(0, self.size, _LOAD_BATCH):
            end = min(start + _LOAD_BATCH, self.size)
            q[start:end], scales[start:end] = _to_int8(self.matrix[start:end])
        self.matrix, self.scales = q, scales

    def nearest(self, vector: np.ndarray, k: int) -> list[tuple[str, float]]:
        """(chunk hash, cosine distance) of the k nearest vectors (all vectors are unit length)."""
        query = vector.astype(np.float32)
        with self.lock:
            if self.size == 0:
                return []
            if self.quantized:
                sims = np.empty(self.size, dtype=np.float32)
                rows = np.empty((_BLOCK, self.dim), dtype=np.float32)
                for start in range(0, self.size, _BLOCK):
                    end = min(start + _BLOCK, self.size)
                    np.copyto(rows[: end - start], self.matrix[start:end], casting="unsafe")
                    np.matmul(rows[: end - start], query, out=sims[start:end])
                sims *= self.scales[: self.size]
            else:
                sims = self.matrix[: self.size] @ query
            k = min(k, self.size)
            top = np.argpartition(-sims, k - 1)[:k]
            order = top[np.argsort(-sims[top])]
            return [(self.hashes[i], float(1.0 - sims[i])) for i in order]

    def nearest_soon(
        self, vector: Callable[[], np.ndarray], k: int
    ) -> Future[list[tuple[str, float]]]:
        """`nearest` for a query vector computed by `vector()`, both on a worker thread. Neither
        touches the database and both release the GIL (ONNX Runtime, NumPy), so a hybrid search
        overlaps them with its BM25 query."""
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="companion-knn")
        return self._pool.submit(lambda: self.nearest(vector(), k))

    def close(self) -> None:
        """Stop the worker threads (the copy itself stays usable)."""
        with self._pool_lock:
            if self._pool is not None:
                self._pool.shutdown(wait=False)
                self._pool = None


def _to_int8(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric per-row int8: row ~= q * scale, scale = max |value| / 127."""
    peak = np.abs(rows).max(axis=1) if len(rows) else np.zeros(0, dtype=np.float32)
    scales = np.where(peak > 0, peak / 127.0, 1.0).astype(np.float32)
    q = np.rint(rows / scales[:, None]).clip(-127, 127).astype(np.int8)
    return q, scales


def _batches(
    rows: Iterable[tuple[int, str, bytes]], size: int = _LOAD_BATCH
) -> Iterable[list[tuple[int, str, bytes]]]:
    batch: list[tuple[int, str, bytes]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
