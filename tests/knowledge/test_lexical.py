import numpy as np

from knowledge.lexical import LexicalIndex, tokenize


def test_tokens_are_lowercased_stemmed_without_stop_words() -> None:
    tokens = tokenize("The Refunds are processed for error E-4021")
    assert "the" not in tokens and "are" not in tokens
    assert "e" in tokens and "4021" in tokens
    assert any(token.startswith("refund") for token in tokens)


def test_exact_codes_rank_first_and_mask_filters() -> None:
    index = LexicalIndex(["reset a password", "error 4021 means locked", "shipping takes days", ""])
    assert index.search("what is 4021", 2)[0][0] == 1
    assert index.search("what is 4021", 2, allowed=np.array([1, 0, 1, 1], dtype=np.float32)) == []
    assert index.search("the", 3) == []
    assert LexicalIndex([]).search("anything", 3) == []
