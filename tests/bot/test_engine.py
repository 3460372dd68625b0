"""The stage chain: order, early answers, streaming, errors."""

from __future__ import annotations

import pytest

from bot.engine import Engine, Next
from bot.types import Message, Reply, TextDelta, Turn


class Recorder:
    def __init__(self, name: str, log: list[str]) -> None:
        self.name, self.log = name, log

    async def __call__(self, turn: Turn, call_next: Next) -> Reply:
        self.log.append(f"{self.name}:in")
        reply = await call_next(turn)
        self.log.append(f"{self.name}:out")
        return reply


class Answerer:
    async def __call__(self, turn: Turn, call_next: Next) -> Reply:
        for word in ("hello", " there"):
            await turn.send(word)
        return Reply(text="hello there")


class Failing:
    async def __call__(self, turn: Turn, call_next: Next) -> Reply:
        raise RuntimeError("boom")


async def test_stages_run_in_order_and_unwind() -> None:
    log: list[str] = []
    engine = Engine([Recorder("a", log), Recorder("b", log), Answerer()])
    reply = await engine.handle(Message(text="hi", conversation_id="c1"))
    assert log == ["a:in", "b:in", "b:out", "a:out"]
    assert reply.conversation_id == "c1"
    assert reply.latency_ms >= 0 and reply.ttft_ms is not None


async def test_stage_can_answer_early() -> None:
    class Early:
        async def __call__(self, turn: Turn, call_next: Next) -> Reply:
            return Reply(text="early", kind="command")

    log: list[str] = []
    reply = await Engine([Early(), Recorder("never", log)]).handle(Message(text="x"))
    assert reply.text == "early" and log == []


async def test_empty_chain_is_silent() -> None:
    reply = await Engine([]).handle(Message(text="x"))
    assert reply.kind == "silent" and reply.text == ""


async def test_stream_yields_deltas_then_the_reply() -> None:
    events = [event async for event in Engine([Answerer()]).stream(Message(text="x"))]
    assert events[:2] == [TextDelta("hello"), TextDelta(" there")]
    assert isinstance(events[-1], Reply) and events[-1].text == "hello there"


async def test_stream_reraises_stage_errors() -> None:
    with pytest.raises(RuntimeError, match="boom"):
        async for _ in Engine([Failing()]).stream(Message(text="x")):
            pass
