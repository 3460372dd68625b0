"""Topic words and coverage, in English and in Chinese (words from the one text layer)."""

from __future__ import annotations

from bot.stages.rewrite import KeywordRewriter, is_follow_up
from bot.terms import content_words, coverage, share_in
from bot.types import ChatMessage


def test_english_topic_words_are_as_before() -> None:
    assert content_words("How do I reset my Nimbus Thermo after error E41?") == [
        "reset",
        "Nimbus",
        "Thermo",
        "error",
        "E41",
    ]


def test_chinese_topic_words_leave_out_function_and_referring_words() -> None:
    words = content_words("请问这个景点的门票多少钱？")
    assert "景点" in words and "门票" in words
    assert not {"请问", "这个", "的", "多少"} & set(words)


def test_chinese_coverage_finds_the_words_in_a_passage() -> None:
    passage = "故宫博物院的门票价格是六十元，开放时间为早上八点半。"
    assert coverage("故宫的门票价格是多少？", passage) == 1.0
    assert coverage("故宫的门票多少钱？", passage) == 2 / 3  # "钱" (money) is not in it
    assert coverage("颐和园的停车场在哪里？", passage) == 0.0


def test_a_chinese_follow_up_carries_the_venue_from_the_assistants_turn() -> None:
    history = [ChatMessage("user", "北京有什么好玩的景点？"), ChatMessage("assistant", "推荐您去养心殿游玩。")]
    question = "这个景点的游玩时间是多长时间啊？"
    assert is_follow_up(question)
    assert "养心殿" in KeywordRewriter().rewrite(history, question)


def test_share_in_counts_each_word_once_or_by_its_weight() -> None:
    words = ["refund", "thermostat"]
    assert share_in(words, "Refunds take five days.") == 0.5
    assert share_in(words, "Refunds take five days.", {"refund": 3.0, "thermostat": 1.0}) == 0.75
    assert share_in(words, "Refunds take five days.", {"thermostat": 3.0}) == 0.25  # a word it lacks weighs 1
    assert share_in([], "anything", {"refund": 2.0}) == 0.0
    assert share_in(["refund"], "anything", {"refund": 0.0}) == 0.0  # no weight at all: nothing to share
