"""`VectorIndex`: a FAISS inner-product index with int64 ids, saved with FAISS's own writer (no pickle).

`flat` (exact) is the default; `hnsw` and `ivf` are for large corpora. Flat supports removal in place; the others
are rebuilt from the manifest's vectors when documents are removed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import faiss
import numpy as np

from knowledge.errors import IndexCorruptError

IndexType = Literal["flat", "hnsw", "ivf"]


class VectorIndex:
    def __init__(self, dimension: int, index_type: IndexType = "flat", index: Any = None) -> None:
        self.dimension = dimension
        self.index_type: IndexType = index_type
        self._index = index if index is not None else self._empty()

    def _empty(self) -> Any:
        if self.index_type == "hnsw":
            return faiss.IndexIDMap2(faiss.IndexHNSWFlat(self.dimension, 32, faiss.METRIC_INNER_PRODUCT))
        return faiss.IndexIDMap2(faiss.IndexFlatIP(self.dimension))

    @property
    def size(self) -> int:
        return int(self._index.ntotal)

    @property
    def supports_removal(self) -> bool:
        return self.index_type == "flat"

    def add(self, row_ids: np.ndarray, vectors: np.ndarray) -> None:
        if len(row_ids) == 0:
            return
        if self.index_type == "ivf" and self.size == 0:
            self._index = self._trained_ivf(vectors)
        self._index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), np.asarray(row_ids, dtype=np.int64))

    def _trained_ivf(self, vectors: np.ndarray) -> Any:
        lists = max(1, min(4096, int(np.sqrt(len(vectors)))))
        quantizer = faiss.IndexFlatIP(self.dimension)
        ivf = faiss.IndexIVFFlat(quantizer, self.dimension, lists, faiss.METRIC_INNER_PRODUCT)
        ivf.train(np.ascontiguousarray(vectors, dtype=np.float32))
        ivf.nprobe = max(1, lists // 8)
        ivf.make_direct_map()
        return faiss.IndexIDMap2(ivf)

    def remove(self, row_ids: np.ndarray) -> None:
        if not self.supports_removal:
            raise NotImplementedError(f"{self.index_type} indexes are rebuilt instead of removed from")
        if len(row_ids):
            self._index.remove_ids(np.asarray(row_ids, dtype=np.int64))

    def search(self, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        if self.size == 0 or k <= 0:
            return []
        # One query gains nothing from OpenMP threads, and on a busy machine their hand-offs cost more than the
        # search itself (20k flat vectors: about 60 ms with threads vs a few ms without, on 2 loaded cores).
        threads = faiss.omp_get_max_threads()
        faiss.omp_set_num_threads(1)
        try:
            scores, ids = self._index.search(
                np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32), min(k, self.size)
            )
        finally:
            faiss.omp_set_num_threads(threads)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i != -1]

    def vectors(self, row_ids: np.ndarray) -> np.ndarray:
        """The stored (normalised) vectors of these rows, one row each."""
        if len(row_ids) == 0:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.stack([self._index.reconstruct(int(row)) for row in row_ids]).astype(np.float32, copy=False)

    def write(self, path: Path) -> None:
        faiss.write_index(self._index, str(path))

    @classmethod
    def read(cls, path: Path, dimension: int, index_type: IndexType) -> VectorIndex:
        try:
            index = faiss.read_index(str(path))
        except RuntimeError as error:
            raise IndexCorruptError(
                f"{path}: the FAISS index cannot be read ({_read_failure(path, str(error))}); run `deskbot kb rebuild` "
                "(it rebuilds the index from the manifest without embedding again)"
            ) from error
        if index_type == "ivf" and index.ntotal:
            faiss.extract_index_ivf(index).make_direct_map()
        if index.d != dimension:
            raise IndexCorruptError(
                f"{path}: index has dimension {index.d}, the manifest says {dimension}; run `deskbot kb rebuild`"
            )
        return cls(dimension, index_type, index)


def _read_failure(path: Path, faiss_message: str) -> str:
    """What FAISS's C++ error text (a function signature, a source line, a failed assertion) means, in a few words."""
    if not path.exists():
        return "the file is missing"
    if "not recognized" in faiss_message:
        return "not a FAISS file"
    if "read error" in faiss_message:
        return "the file is truncated"
    return "the file is damaged"
