import numpy as np

from knowledge.documents import Chunk
from knowledge.embedders.hashing import HashEmbedder
from knowledge.embedding_cache import embed_texts, text_hash


class CountingEmbedder(HashEmbedder):
    def __init__(self) -> None:
        super().__init__()
        self.embedded: list[str] = []

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        self.embedded.extend(texts)
        return super().embed_documents(texts)


def test_each_distinct_text_is_embedded_once_and_vectors_keep_the_input_order() -> None:
    embedder = CountingEmbedder()
    vectors = embed_texts(embedder, ["bb", "a", "bb"])
    assert sorted(embedder.embedded) == ["a", "bb"]
    np.testing.assert_allclose(vectors, HashEmbedder().embed_documents(["bb", "a", "bb"]), atol=1e-6)
    assert embed_texts(embedder, []).shape == (0, embedder.dimension)


def test_the_cache_key_changes_with_the_embedder_and_the_text() -> None:
    chunk = Chunk("a#0", "a", "Title", "Text.")
    assert text_hash(HashEmbedder(), chunk) == text_hash(HashEmbedder(), chunk)
    assert text_hash(HashEmbedder(), chunk) != text_hash(HashEmbedder(128), chunk)
    assert text_hash(HashEmbedder(), chunk) != text_hash(HashEmbedder(), Chunk("a#0", "a", "Title", "Other."))
