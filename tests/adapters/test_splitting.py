import pytest

from adapters.splitting import split_message


def test_short_text_is_one_piece():
    assert split_message("  hello  ", 2000) == ["hello"]
    assert split_message("", 2000) == []


def test_pieces_respect_the_limit_and_keep_every_word():
    text = "\n\n".join(f"Paragraph {i}. " + "word " * 120 for i in range(10))
    pieces = split_message(text, 2000)
    assert len(pieces) > 1 and all(len(p) <= 2000 for p in pieces)
    assert " ".join(" ".join(pieces).split()) == " ".join(text.split())


def test_prefers_paragraph_breaks_and_cuts_unbroken_text():
    assert split_message("a" * 30 + "\n\n" + "b" * 30, 40) == ["a" * 30, "b" * 30]
    assert split_message("x" * 50, 20) == ["x" * 20, "x" * 20, "x" * 10]
    with pytest.raises(ValueError):
        split_message("x", 0)
