"""1:N search over many enrolled face vectors: int8 rows in memory, cosine scores by blocks, exact re-check outside.

The index is coarse on purpose (int8 loses ~0.002 of cosine); callers confirm every hit against the
decrypted template before acting on it, so a quantisation error can only cost a re-check, never a decision.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_SCALE = 127.0


@dataclass(frozen=True)
class Hit:
    """One candidate: which template of which owner, and its approximate cosine distance."""

    template_id: int
    owner_id: int
    distance: float


class VectorIndex:
    """Append-only rows of (template id, owner id, int8 unit vector); search returns the nearest rows."""

    def __init__(self, dim: int, *, block_rows: int = 131_072, capacity: int = 1024) -> None:
        self.dim = dim
        self.block_rows = block_rows
        self._vectors = np.zeros((capacity, dim), dtype=np.int8)
        self._template_ids = np.zeros(capacity, dtype=np.int64)
        self._owner_ids = np.zeros(capacity, dtype=np.int64)
        self._size = 0

    def __len__(self) -> int:
        return self._size

    @property
    def nbytes(self) -> int:
        """Memory held by the rows."""
        return int(self._vectors.nbytes + self._template_ids.nbytes + self._owner_ids.nbytes)

    def add(self, template_ids: np.ndarray, owner_ids: np.ndarray, vectors: np.ndarray) -> None:
        """Append rows; vectors are L2-normalised here (any float dtype)."""
        vectors = np.asarray(vectors, dtype=np.float32).reshape(-1, self.dim)
        n = len(vectors)
        if n == 0:
            return
        self._reserve(self._size + n)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        unit = vectors / np.maximum(norms, 1e-12)
        end = self._size + n
        self._vectors[self._size : end] = np.clip(np.rint(unit * _SCALE), -127, 127).astype(np.int8)
        self._template_ids[self._size : end] = template_ids
        self._owner_ids[self._size : end] = owner_ids
        self._size = end

    def _reserve(self, rows: int) -> None:
        if rows <= len(self._vectors):
            return
        capacity = max(rows, 2 * len(self._vectors))
        for name in ("_vectors", "_template_ids", "_owner_ids"):
            old = getattr(self, name)
            new = np.zeros((capacity, *old.shape[1:]), dtype=old.dtype)
            new[: self._size] = old[: self._size]
            setattr(self, name, new)

    def search(self, vector: np.ndarray, *, max_distance: float, limit: int = 10) -> list[Hit]:
        """Rows whose approximate cosine distance to `vector` is at most `max_distance`, nearest first."""
        query = np.asarray(vector, dtype=np.float32).reshape(self.dim)
        query = query / max(float(np.linalg.norm(query)), 1e-12) / _SCALE
        best_rows: list[np.ndarray] = []
        best_dist: list[np.ndarray] = []
        for start in range(0, self._size, self.block_rows):
            stop = min(start + self.block_rows, self._size)
            distance = 1.0 - self._vectors[start:stop].astype(np.float32) @ query
            close = np.flatnonzero(distance <= max_distance)
            best_rows.append(close + start)
            best_dist.append(distance[close])
        if not best_rows:
            return []
        rows, dist = np.concatenate(best_rows), np.concatenate(best_dist)
        order = np.argsort(dist, kind="stable")[:limit]
        return [Hit(int(self._template_ids[rows[i]]), int(self._owner_ids[rows[i]]), float(dist[i])) for i in order]

    @property
    def last_template_id(self) -> int:
        """The highest template id added (0 when empty): what an incremental load continues from."""
        return int(self._template_ids[: self._size].max()) if self._size else 0
