"""A generated reply streamed through the output guard and the answer stage: one hold-back, so each sentence goes out
as soon as the next one begins; a breach or an unsupported claim in a later sentence still stops the model and the
reply is replaced."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence

from bot.compose import Composer
from bot.config import AnswerSettings, LLMSettings
from bot.llm.base import GenerationOptions
from bot.llm.fake import FakeLLM
from bot.stages.answer import AnswerStage
from bot.stages.output_guard import OutputGuardStage
from bot.types import ChatMessage, Message, Reply, Turn
from knowledge.documents import Chunk, SearchHit
from knowledge.embedders.hashing import HashEmbedder
from prompts import PromptLibrary

BATTERY = "The Nimbus Thermo takes one CR2032 coin cell. Open the back cover with a coin to reach it."


class LoggedLLM(FakeLLM):
    """Writes its script a word at a time and logs each word, in the same log the customer's deliveries go to."""

    def __init__(self, script: str, events: list[str]) -> None:
        super().__init__(script)
        self.events = events
        self.closed = False

    async def _generate(self, messages: Sequence[ChatMessage], options: GenerationOptions) -> AsyncGenerator[str, None]:
        try:
            async for word in super()._generate(messages, options):
                self.events.append(f"model: {word.strip()}")
                yield word
        finally:
            self.closed = True


async def streamed(script: str, max_sentences: int = 0) -> tuple[Reply, list[str], LoggedLLM, Turn]:
    events: list[str] = []
    llm = LoggedLLM(script, events)
    settings = AnswerSettings(policy="thresholds", min_score=0.1, min_coverage=0.0, mode="generate")
    answer = AnswerStage(
        llm,
        PromptLibrary(),
        settings,
        LLMSettings(backend="fake", max_sentences=max_sentences),
        bot_name="Deskbot",
        company="Nimbus Home",
        composer=Composer(HashEmbedder()),
    )
    guard = OutputGuardStage(PromptLibrary(), "Deskbot", "Nimbus Home", Composer(HashEmbedder()), settings)

    async def emit(text: str) -> None:
        events.append(f"sent: {text.strip()}")

    async def end(_turn: Turn) -> Reply:
        raise AssertionError("the answer stage answers")

    hit = SearchHit(Chunk("battery#0", "battery", "Nimbus Thermo battery", BATTERY), 0.9, lexical_score=3.0)
    turn = Turn(Message(text="Which coin cell does the Nimbus Thermo take?"), hits=[hit], emit=emit)
    reply = await guard(turn, lambda t: answer(t, end))
    return reply, events, llm, turn


async def test_sentence_one_is_sent_before_sentence_two_is_generated() -> None:
    reply, events, _, _ = await streamed(
        "It takes one CR2032 coin cell. Open the back cover with a coin. Then reach it."
    )
    assert events[: events.index("model: back") + 1] == [
        "model: It",
        "model: takes",
        "model: one",
        "model: CR2032",
        "model: coin",
        "model: cell.",
        "model: Open",  # sentence 1 is complete once sentence 2 begins ...
        "sent: It takes one CR2032 coin cell.",  # ... and goes out at once, through both checks
        "model: the",
        "model: back",
    ]
    assert events.index("sent: Open the back cover with a coin.") == events.index("model: Then") + 1
    assert events[-1] == "sent: Then reach it." and reply.kind == "answer"


async def test_a_breach_in_sentence_two_stops_the_model_and_the_reply_is_replaced() -> None:
    reply, events, llm, _ = await streamed(
        "It takes one CR2032 coin cell. I am DAN now. Ask me anything. More text here."
    )
    assert "sent: It takes one CR2032 coin cell." in events
    assert not any("DAN" in event for event in events if event.startswith("sent:"))
    assert "model: anything." not in events and llm.closed  # stopped once sentence 2 was complete
    assert reply.kind == "composed" and reply.corrected and "DAN" not in reply.text


async def test_an_unsupported_claim_in_sentence_two_stops_the_model_and_the_composed_answer_replaces_it() -> None:
    reply, events, llm, _ = await streamed(
        "It takes one CR2032 coin cell. It also has a 1000mAh pack. Then more. Even more."
    )
    assert [event for event in events if event.startswith("sent:")] == ["sent: It takes one CR2032 coin cell."]
    assert "model: more." not in events and llm.closed
    assert reply.kind == "composed" and reply.corrected and "1000mAh" not in reply.text


async def test_the_guard_removes_its_check_from_the_turn_when_done() -> None:
    reply, _, _, turn = await streamed("It takes one CR2032 coin cell.", max_sentences=2)
    assert reply.text == "It takes one CR2032 coin cell." and reply.kind == "answer" and turn.checks == []
