"""Commands through the whole engine, against the real SQLite store; handoff notices reach a registered listener."""

from __future__ import annotations

import pytest

from bot.handoff import HandoffNotice
from bot.types import Message


@pytest.fixture
def notices(runtime) -> list[HandoffNotice]:
    """The handoff notices the engine announces, as a channel's listener receives them."""
    received: list[HandoffNotice] = []

    async def listener(notice: HandoffNotice) -> None:
        received.append(notice)

    runtime.handoff_notices.listen(listener)
    return received


async def test_help_lists_every_command(runtime):
    reply = await runtime.engine().handle(Message(text="/help"))
    for command in ("/help", "/reset", "/human", "/bot", "/feedback"):
        assert command in reply.text
    assert reply.kind == "command"


async def test_unknown_command(runtime):
    reply = await runtime.engine().handle(Message(text="/dance"))
    assert "/dance" in reply.text and "/help" in reply.text


async def test_reset_forgets_history(runtime):
    engine = runtime.engine()
    await engine.handle(Message(text="How do I reset my Nimbus Thermo?", conversation_id="c1"))
    assert runtime.conversations().history("c1")
    await engine.handle(Message(text="/reset", conversation_id="c1"))
    assert runtime.conversations().history("c1") == []


async def test_human_hands_off_notifies_and_silences_until_bot(runtime, notices, fake_llm):
    engine = runtime.engine()
    reply = await engine.handle(Message(text="/human my invoice is wrong", conversation_id="c2", user_id="u9"))
    assert reply.handoff and reply.kind == "handoff"
    [notice] = notices
    assert notice.conversation_id == "c2" and notice.user_id == "u9" and notice.reason == "my invoice is wrong"
    payload = notice.payload()
    assert payload["event"] == "handoff" and payload["requested_at"] == notice.requested_at.isoformat()
    assert "asked for a person" in payload["text"]
    calls = len(fake_llm.calls)
    quiet = await engine.handle(Message(text="Hello? What is the returns policy?", conversation_id="c2"))
    assert quiet.kind == "silent" and quiet.text == "" and quiet.handoff
    assert len(fake_llm.calls) == calls
    assert runtime.conversations().history("c2")[-1].content == "Hello? What is the returns policy?"
    back = await engine.handle(Message(text="/bot", conversation_id="c2"))
    assert back.kind == "command" and not runtime.conversations().handed_off("c2")
    answered = await engine.handle(Message(text="What is the returns policy?", conversation_id="c2"))
    assert answered.kind in {"answer", "faq"}


async def test_human_still_hands_off_when_a_notice_listener_fails(runtime, notices, caplog):
    async def broken(_notice: HandoffNotice) -> None:
        raise RuntimeError("queue is gone")

    runtime.handoff_notices.listen(broken)
    reply = await runtime.engine().handle(Message(text="/human", conversation_id="c3"))
    assert reply.handoff and reply.kind == "handoff"
    assert runtime.conversations().handed_off("c3")
    assert [notice.conversation_id for notice in notices] == ["c3"], "the other listeners still get it"
    assert "handoff listener" in caplog.text


async def test_human_without_a_listener_only_logs_the_notice(runtime, caplog):
    caplog.set_level("INFO", logger="bot.handoff")
    reply = await runtime.engine().handle(Message(text="/human", conversation_id="c5"))
    assert reply.handoff and runtime.conversations().handed_off("c5")
    assert "no channel here delivers handoff notices" in caplog.text


async def test_feedback_rates_last_answer(runtime):
    engine = runtime.engine()
    nothing = await engine.handle(Message(text="/feedback good", conversation_id="c4"))
    assert "no answer" in nothing.text
    await engine.handle(Message(text="What is the returns policy?", conversation_id="c4"))
    usage = await engine.handle(Message(text="/feedback maybe", conversation_id="c4"))
    assert "/feedback good" in usage.text
    thanks = await engine.handle(Message(text="/feedback bad it missed the fee", conversation_id="c4"))
    assert thanks.kind == "command"
    (record,) = [r for r in runtime.conversations().export(rated_only=True) if r["conversation_id"] == "c4"]
    rated = [m for m in record["messages"] if m["rating"]]
    assert rated == [record["messages"][-1]] and rated[0]["feedback"] == "it missed the fee"
    assert all(not m["content"].startswith("/") for m in record["messages"])


async def test_help_in_chinese_describes_every_command_in_chinese(runtime):
    from bot.stages.commands import CommandStage

    reply = await runtime.engine().handle(Message(text="/help", metadata={"profile": {"language": "zh"}}))
    english = dict(CommandStage(runtime.services()).commands)
    for command, (description, _) in english.items():
        line = next(line for line in reply.text.splitlines() if line.strip().startswith(command + " "))
        assert description not in line and any("\u4e00" <= char <= "\u9fff" for char in line), line


async def test_a_plugin_command_keeps_its_own_description_in_chinese(runtime):
    from bot.stages.commands import CommandStage
    from bot.types import Turn

    stage = CommandStage(runtime.services())
    stage.add("/dance", "make the bot dance", lambda _turn, _args: None)
    turn = Turn(message=Message(text="/help", metadata={"profile": {"language": "zh"}}))
    reply = await stage(turn, lambda _turn: None)
    assert "/dance  make the bot dance" in reply.text and "显示本帮助" in reply.text


async def test_a_language_without_templates_falls_back_to_english(runtime):
    from prompts import PromptLibrary

    russian = await runtime.engine().handle(Message(text="/reset", metadata={"profile": {"language": "ru"}}))
    assert russian.text == PromptLibrary().render("reset")
    runtime.settings.answer.min_score = 0.99
    unanswered = await runtime.engine().handle(Message(text="Продаёте ли вы солнечные панели?"))
    assert unanswered.abstained and unanswered.text == PromptLibrary().render("abstain")
