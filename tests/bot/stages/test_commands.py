"""Commands through the whole engine, against the real SQLite store; the handoff webhook is a real local server."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest

from bot.types import Message


@pytest.fixture
def webhook() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    received: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append(json.loads(body))
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook", received
    server.shutdown()
    server.server_close()


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


async def test_human_hands_off_notifies_and_silences_until_bot(runtime, settings, webhook, fake_llm):
    url, received = webhook
    settings.conversation.handoff_webhook_url = url
    engine = runtime.engine()
    reply = await engine.handle(Message(text="/human my invoice is wrong", conversation_id="c2", user_id="u9"))
    assert reply.handoff and reply.kind == "handoff"
    assert received and received[0]["conversation_id"] == "c2" and received[0]["user_id"] == "u9"
    assert received[0]["reason"] == "my invoice is wrong"
    calls = len(fake_llm.calls)
    quiet = await engine.handle(Message(text="Hello? What is the returns policy?", conversation_id="c2"))
    assert quiet.kind == "silent" and quiet.text == "" and quiet.handoff
    assert len(fake_llm.calls) == calls
    assert runtime.conversations().history("c2")[-1].content == "Hello? What is the returns policy?"
    back = await engine.handle(Message(text="/bot", conversation_id="c2"))
    assert back.kind == "command" and not runtime.conversations().handed_off("c2")
    answered = await engine.handle(Message(text="What is the returns policy?", conversation_id="c2"))
    assert answered.kind in {"answer", "faq"}


async def test_human_without_reachable_webhook_still_hands_off(runtime, settings):
    settings.conversation.handoff_webhook_url = "http://127.0.0.1:9/unreachable"
    reply = await runtime.engine().handle(Message(text="/human", conversation_id="c3"))
    assert reply.handoff
    assert runtime.conversations().handed_off("c3")


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
