"""The sentence stop: where a reply ends after N sentences, and that the source stream is closed there."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import pytest

from bot.llm.fake import FakeLLM
from bot.llm.sentence_stop import end_of_sentences, stop_after_sentences
from bot.types import Message

LONG = "It lasts 2 years. Keep the receipt. Print the label. Drop it off."


@pytest.mark.parametrize(
    ("text", "count", "end"),
    [
        ("The warranty lasts 2 years. You can", 1, len("The warranty lasts 2 years.")),
        ("It lasts 2 years! Call us", 1, len("It lasts 2 years!")),
        ("Is it free? Yes", 1, len("Is it free?")),
        ("One. Two. Three", 2, len("One. Two.")),
        ("First line\nSecond", 1, len("First line")),
        ("保修期为两年。请保留发票", 1, len("保修期为两年。")),
        ("可以退货吗？可以", 1, len("可以退货吗？")),
        ("It lasts 2 years. [1] Keep", 1, len("It lasts 2 years. [1]")),
        ("It lasts 2 years. [1][2] Keep", 1, len("It lasts 2 years. [1][2]")),
        ("It lasts 2 years. [1, 3] Keep", 1, len("It lasts 2 years. [1, 3]")),
        ("It lasts 2 years. [1] Keep it. [2] Or", 2, len("It lasts 2 years. [1] Keep it. [2]")),
    ],
)
def test_a_sentence_ends_where_the_next_one_begins(text: str, count: int, end: int) -> None:
    assert end_of_sentences(text, count) == end


@pytest.mark.parametrize(
    "text",
    [
        "The warranty lasts 2 years.",  # the next sentence has not begun: it may be "2 years. e.g. ..."
        "The warranty lasts 2 years. ",
        "Bring a document, e.g. a passport",
        "Version 3.5 fixes it",
        "It is sold in the U.S. and Canada",
        "It is sold in the U.S. Market rules apply",  # "U.S." is an abbreviation even before a capital
        "Costs rose by 3. percent",
        "It lasts 2 years. [1]",  # markers belong to the sentence before them
        "It lasts 2 years. [1",
    ],
)
def test_abbreviations_decimals_and_unfinished_sentences_are_not_an_end(text: str) -> None:
    assert end_of_sentences(text, 1) is None


async def pieces_of(text: str, log: list[str]) -> AsyncGenerator[str, None]:
    try:
        for word in text.split(" "):
            log.append(word)
            yield word if len(log) == 1 else " " + word
    finally:
        log.append("<closed>")


async def test_the_reply_is_cut_after_max_sentences_and_the_source_is_closed() -> None:
    log: list[str] = []
    text = "The warranty lasts 2 years, e.g. for the U.S. market. It covers parts. Labour is extra. Call us."
    reply = "".join([piece async for piece in stop_after_sentences(pieces_of(text, log), 2)])
    assert reply == "The warranty lasts 2 years, e.g. for the U.S. market. It covers parts."
    assert log[-2:] == ["Labour", "<closed>"], "it read one word past the boundary, then closed the source"


async def test_a_reply_shorter_than_the_limit_is_whole() -> None:
    log: list[str] = []
    text = "It lasts 2 years. Keep the receipt."
    assert "".join([p async for p in stop_after_sentences(pieces_of(text, log), 3)]) == text
    assert log[-1] == "<closed>"


async def test_no_limit_passes_everything() -> None:
    log: list[str] = []
    text = "One. Two. Three. Four."
    assert "".join([p async for p in stop_after_sentences(pieces_of(text, log), None)]) == text


async def test_a_piece_holding_both_sides_of_the_boundary_is_cut_inside() -> None:
    async def pieces() -> AsyncGenerator[str, None]:
        yield "It lasts"
        yield " 2 years. Keep"
        yield " the receipt."

    assert "".join([p async for p in stop_after_sentences(pieces(), 1)]) == "It lasts 2 years."


@pytest.mark.parametrize(("max_sentences", "expected"), [(2, "It lasts 2 years. Keep the receipt."), (0, LONG)])
async def test_the_engine_replies_with_at_most_llm_max_sentences(runtime, registry, max_sentences, expected) -> None:
    registry.register("llm", "fake", lambda _settings: FakeLLM(LONG))
    runtime.settings.llm.max_sentences = max_sentences
    runtime.settings.answer.max_context_tokens = 600
    runtime.settings.answer.check_claims = False  # the scripted reply's facts are not the sample's
    runtime.settings.answer.check_grounding = False  # nor its words
    question = "What is the returns policy? How many days do I have to return?"
    reply = await runtime.engine().handle(Message(text=question))
    assert not reply.abstained and reply.text == expected
