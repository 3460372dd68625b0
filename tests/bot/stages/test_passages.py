"""What a reply cites: a generated reply the passages its sentences draw on, not every passage it was shown."""

from __future__ import annotations

from bot.stages.passages import Passage, citations_for, drawn_on, sources, support
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


def test_a_reply_that_draws_on_no_passage_cites_nothing() -> None:
    assert drawn_on("Yes.", [BATTERY, RETURNS]) == []
    assert drawn_on("Yes.", []) == []
    assert drawn_on("I am sorry, I cannot help with solar panels.", [BATTERY, RETURNS, SHIPPING]) == []


def test_a_sentence_draws_on_a_passage_only_with_half_its_topic_words() -> None:
    # topic words: nimbus, thermo, needs, firmware, update -> two of five in BATTERY: below the support threshold
    assert drawn_on("The Nimbus Thermo needs a firmware update.", [BATTERY]) == []
    # nimbus, thermo, takes, battery -> all four in BATTERY (its title included)
    assert drawn_on("The Nimbus Thermo takes a battery.", [BATTERY]) == [BATTERY]


def test_a_sentence_held_verbatim_is_fully_supported() -> None:
    assert support("Yes.", "Yes. Pets can catch it.") == 1.0
    assert support("  the nimbus thermo TAKES one CR2032 coin cell. ", BATTERY.text) == 1.0
    assert support("Firmware updates are automatic.", BATTERY.text) == 0.0


def test_a_passage_used_only_by_sentences_another_supports_better_is_not_a_source() -> None:
    texts = [BATTERY.text + " Orders ship within two working days.", SHIPPING.text]
    # the shipping sentence is in both; the first text holds it verbatim, so it wins the tie on support
    assert sources("Orders ship within two working days.", texts) == [0]
    assert sources("Orders ship from our warehouse within two working days.", texts) == [1]


def test_a_tie_goes_to_the_better_ranked_passage() -> None:
    twin = passage(2, "battery-copy", "Nimbus Thermo battery", "The Nimbus Thermo takes one CR2032 coin cell.")
    assert drawn_on("It takes a CR2032 coin cell.", [BATTERY, twin]) == [BATTERY]
