"""`Chunk.embedding_text()`: what the embedder and BM25 read for a chunk."""

from knowledge.documents import Chunk


def test_a_title_the_passage_opens_with_is_not_repeated() -> None:
    def chunk(text: str, section: str = "") -> Chunk:
        return Chunk("d#0", "d", "Returns", text, section=section)

    assert chunk("Returns\nWithin 30 days.").embedding_text() == "Returns\nWithin 30 days."
    assert chunk("Returns take 30 days.").embedding_text() == "Returns take 30 days."
    assert chunk("Returnsfoo").embedding_text() == "Returns\nReturnsfoo"
    assert chunk("Within 30 days.").embedding_text() == "Returns\nWithin 30 days."
    assert chunk("Returns\nWithin 30 days.", "Abroad").embedding_text() == "Abroad\nReturns\nWithin 30 days."
