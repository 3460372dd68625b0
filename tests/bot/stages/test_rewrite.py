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


CHINESE_HISTORY = [
    ChatMessage("user", "你好，我想找一家评分4.5分以上、人均消费100元左右的餐馆。"),
    ChatMessage("assistant", "推荐您去北京全聚德(王府井店)，人均消费98元，评分4.6分。"),
    ChatMessage("user", "好的，地址在哪里？"),
    ChatMessage("assistant", "地址是北京东城区王府井大街9号，电话010-65253310，地铁王府井站A口出来就到。"),
]


def test_chinese_referring_words_make_a_follow_up():
    for message in ("它家营业时间是什么时候啊？", "可以，就他家吧，你有电话吗？", "周边还有哪些别的好玩的景点啊？"):
        assert is_follow_up(message), message
    assert not is_follow_up("北京全聚德王府井店的营业时间和推荐菜是什么？")


def test_a_chinese_follow_up_carries_the_whole_name_from_the_assistants_turn():
    query = KeywordRewriter().rewrite(CHINESE_HISTORY, "这家餐馆的营业时间是几点？")
    assert query.startswith("这家餐馆的营业时间是几点？")
    assert all(part in query for part in ("全聚德", "王府井")), query


def test_an_english_follow_up_carries_the_hotel_named_by_the_assistant():
    history = [
        ChatMessage("user", "I need a cheap place to stay in the north."),
        ChatMessage("assistant", "How about the Acorn Guest House? It is cheap and has 4 stars."),
    ]
    query = KeywordRewriter().rewrite(history, "Does that hotel have free wifi?")
    assert "Acorn" in query and "Guest" in query


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
