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


def test_a_chinese_word_inside_a_clause_is_found() -> None:
    from knowledge.lexical import LexicalIndex

    index = LexicalIndex(["故宫博物院的开放时间是早上八点半到下午五点。", "颐和园的门票价格是三十元。"])
    [(position, score)] = index.search("故宫几点开放", 1)
    assert position == 0 and score > 0
