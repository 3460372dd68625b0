"""`Grounding`: a generated sentence must draw on a passage, unless it has no topic words or is not surely written in
the passages' language."""

from bot.stages.grounding import GROUNDING_CHECK, Grounding
from bot.stages.passages import Passage, drawn_on
from knowledge.documents import Chunk, SearchHit

BATTERY = "The Nimbus Thermo takes one CR2032 coin cell. Open the back cover with a coin to reach it."


def passages(text: str = BATTERY) -> list[Passage]:
    return [Passage(1, "Nimbus Thermo battery", text, SearchHit(Chunk("b#0", "b", "Battery", text), 0.9))]


def grounding(text: str = BATTERY) -> Grounding:
    return Grounding(passages(text))


def draws_on_nothing(reply: str, text: str = BATTERY) -> bool:
    return grounding(text).draws_on_nothing(reply, drawn_on(reply, passages(text)))


def test_a_sentence_with_topic_words_must_draw_on_a_passage() -> None:
    check = grounding().check()
    assert check.name == GROUNDING_CHECK
    assert check.problem("It takes one CR2032 coin cell.", "It takes one CR2032 coin cell.") is None
    assert check.problem("The answer is no.", "The answer is no.") == "no passage supports it"
    assert check.problem("Yes.", "Yes.") is None  # no topic word: nothing to draw on
    french = "Le thermostat utilise une pile."
    assert check.problem(french, french) is None  # not surely English: held to its claims only


def test_a_reply_draws_on_nothing_when_empty_or_unsupported_in_the_passages_language() -> None:
    assert draws_on_nothing("")
    assert draws_on_nothing("No.")
    assert not draws_on_nothing("Open the back cover with a coin.")
    assert not draws_on_nothing("它使用一颗纽扣电池。")  # Chinese, the passages English
    venue = "名称：国子监\n地址：国子监街15号"
    assert draws_on_nothing("它使用一颗纽扣电池。", venue) and not draws_on_nothing("地址是国子监街15号。", venue)
