from bot.config import RewriteSettings
from bot.llm.fake import FakeLLM
from bot.stages.rewrite import KeywordRewriter, LLMRewriter, RewriteStage, is_follow_up
from bot.types import ChatMessage, Message, Reply, Turn
from prompts import PromptLibrary

HISTORY = [
    ChatMessage("user", "I'm looking for information on the Cambridge Belfry hotel."),
    ChatMessage("assistant", "The Cambridge Belfry is cheap, located in the west, and has 4 stars."),
]


def test_follow_up_detection():
    assert is_follow_up("Does it have free parking?")
    assert is_follow_up("And in winter?")
    assert not is_follow_up("How do I change the card used for my Nimbus Plus subscription?")


def test_follow_up_gets_the_entity_from_earlier_turns():
    query = KeywordRewriter().rewrite(HISTORY, "Are the rooms clean there?")
    assert query.startswith("Are the rooms clean there?")
    assert "Cambridge" in query and "Belfry" in query


def test_self_contained_question_is_searched_as_is():
    message = "What payment methods does the Nimbus online store accept for business accounts?"
    assert KeywordRewriter().rewrite(HISTORY, message) == message
    assert KeywordRewriter().rewrite([], "Does it work?") == "Does it work?"


async def stop(turn: Turn) -> Reply:
    return Reply(text=turn.query)


async def test_stage_sets_query_from_history_and_leaves_first_turns_alone():
    stage = RewriteStage(RewriteSettings(), KeywordRewriter())
    turn = Turn(message=Message(text="Is it near the centre?"), history=list(HISTORY))
    assert "Belfry" in (await stage(turn, stop)).text
    first = Turn(message=Message(text="Is it near the centre?"))
    assert (await stage(first, stop)).text == "Is it near the centre?"


async def test_llm_rewrite_is_used_when_it_answers():
    llm = FakeLLM("Is the Cambridge Belfry near the centre?")
    stage = RewriteStage(RewriteSettings(mode="llm"), KeywordRewriter(), LLMRewriter(llm, PromptLibrary(), 1.0))
    turn = Turn(message=Message(text="Is it near the centre?"), history=list(HISTORY))
    assert (await stage(turn, stop)).text == "Is the Cambridge Belfry near the centre?"
    assert "<question>Is it near the centre?</question>" in llm.calls[0][0].content


async def test_slow_or_failing_llm_falls_back_to_keywords():
    slow = FakeLLM("too late", first_token_delay_s=2.0)
    stage = RewriteStage(RewriteSettings(mode="llm"), KeywordRewriter(), LLMRewriter(slow, PromptLibrary(), 0.1))
    turn = Turn(message=Message(text="Is it near the centre?"), history=list(HISTORY))
    assert "Belfry" in (await stage(turn, stop)).text
    from bot.errors import LLMError

    broken = FakeLLM(fail_with=LLMError("connection refused"))
    stage = RewriteStage(RewriteSettings(mode="llm"), KeywordRewriter(), LLMRewriter(broken, PromptLibrary(), 1.0))
    turn = Turn(message=Message(text="Is it near the centre?"), history=list(HISTORY))
    assert "Belfry" in (await stage(turn, stop)).text
