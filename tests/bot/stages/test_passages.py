"""What a reply cites: a generated reply the passages its sentences draw on, not every passage it was shown."""

from __future__ import annotations

from bot.stages.passages import Passage, citations_for, drawn_on
from knowledge.documents import Chunk, SearchHit


def passage(number: int, doc: str, title: str, text: str) -> Passage:
    return Passage(number, title, text, SearchHit(Chunk(f"{doc}#0", doc, title, text), 0.9 - number / 10))


BATTERY = passage(1, "battery", "Nimbus Thermo battery", "The Nimbus Thermo takes one CR2032 coin cell.")
RETURNS = passage(2, "returns", "Returns", "You can return any product within 30 days of delivery.")
SHIPPING = passage(3, "shipping", "Shipping", "Orders ship within two working days from our warehouse.")


def test_each_sentence_cites_the_passage_it_shares_most_topic_words_with() -> None:
    reply = "It takes one CR2032 coin cell [1]. You can return it within 30 days of delivery [1]."
    used = drawn_on(reply, [BATTERY, RETURNS, SHIPPING])
    assert used == [BATTERY, RETURNS]  # the model's "[1]" after the second sentence is not trusted
    assert [(citation.id, citation.number) for citation in citations_for(used)] == [("battery", 1), ("returns", 2)]


def test_a_passage_no_sentence_draws_on_is_not_cited() -> None:
    assert drawn_on("Orders ship within two working days.", [BATTERY, RETURNS, SHIPPING]) == [SHIPPING]


def test_a_reply_sharing_no_topic_word_cites_the_best_passage() -> None:
    assert drawn_on("Yes.", [BATTERY, RETURNS]) == [BATTERY]
    assert drawn_on("Yes.", []) == []


def test_a_tie_goes_to_the_better_ranked_passage() -> None:
    twin = passage(2, "battery-copy", "Nimbus Thermo battery", "The Nimbus Thermo takes one CR2032 coin cell.")
    assert drawn_on("It takes a CR2032 coin cell.", [BATTERY, twin]) == [BATTERY]
