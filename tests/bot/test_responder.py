"""The one answer path: streaming, the canned fallback for any failure, readiness and listeners."""

from __future__ import annotations

import asyncio

import pytest

from bot.engine import Engine, Next
from bot.errors import ConfigError
from bot.responder import Responder
from bot.types import Message, Reply, TextDelta, Turn
from prompts import PromptLibrary
from tests.bot.test_engine import Answerer

ERROR_TEXT = PromptLibrary().render("error")


class Failing:
    async def __call__(self, turn: Turn, call_next: Next) -> Reply:
        await turn.send("half an ans")
        raise RuntimeError("secret internals: password=hunter2")


def responder_of(*stages: object, **options: object) -> Responder:
    return Responder(lambda _progress: Engine(list(stages)), PromptLibrary(), **options)  # type: ignore[arg-type]


async def test_stream_yields_deltas_then_the_reply() -> None:
    events = [event async for event in responder_of(Answerer()).stream(Message(text="x"))]
    assert events[:2] == [TextDelta("hello"), TextDelta(" there")]
    assert isinstance(events[-1], Reply) and events[-1].text == "hello there"


async def test_a_failing_stage_gives_the_canned_reply_and_the_stream_ends() -> None:
    events = [event async for event in responder_of(Failing()).stream(Message(text="x", conversation_id="c9"))]
    reply = events[-1]
    assert isinstance(reply, Reply) and reply.kind == "error" and reply.text == ERROR_TEXT
    assert reply.conversation_id == "c9" and "hunter2" not in reply.text


async def test_reply_never_raises_for_a_failed_turn() -> None:
    reply = await responder_of(Failing()).reply(Message(text="x"))
    assert reply.kind == "error" and reply.text == ERROR_TEXT


async def test_an_engine_that_fails_to_load_gives_the_canned_reply_and_warm_up_raises_it() -> None:
    def broken(_progress: object) -> Engine:
        raise ConfigError("knowledge folder /nowhere does not exist")

    responder = Responder(broken, PromptLibrary())
    reply = await responder.reply(Message(text="x"))
    assert reply.kind == "error" and "nowhere" not in reply.text
    assert isinstance(responder.failure, ConfigError) and not responder.ready
    with pytest.raises(ConfigError, match="/nowhere"):
        await responder.warm_up()


async def test_a_reply_waits_for_loading_at_most_the_ready_timeout() -> None:
    def slow(_progress: object) -> Engine:
        import time

        time.sleep(0.5)
        return Engine([Answerer()])

    responder = Responder(slow, PromptLibrary(), ready_timeout_s=0.05)
    assert (await responder.reply(Message(text="x"))).kind == "error"
    await responder.warm_up()
    assert responder.ready and (await responder.reply(Message(text="x"))).text == "hello there"


class Warming(Answerer):
    """An answerer with a model to load (`warm_up`), counted."""

    def __init__(self) -> None:
        super().__init__()
        self.warmed = 0

    async def warm_up(self) -> None:
        self.warmed += 1


async def test_without_warm_models_the_engine_is_ready_once_built_and_still_answers() -> None:
    stage = Warming()
    responder = responder_of(stage)
    responder.warm_models = False
    await responder.warm_up()
    assert responder.ready and stage.warmed == 0
    assert (await responder.reply(Message(text="x"))).text == "hello there"
    warmed = responder_of(stage)
    await warmed.warm_up()
    assert stage.warmed == 1


async def test_listeners_see_every_reply_and_a_failing_one_changes_nothing() -> None:
    responder = responder_of(Answerer())
    seen: list[str] = []

    def broken(_message: Message, _reply: Reply) -> None:
        raise ValueError("listener bug")

    responder.listen(broken)
    responder.listen(lambda message, reply: seen.append(f"{message.text}->{reply.text}"))
    await responder.reply(Message(text="a"))
    _ = [event async for event in responder.stream(Message(text="b"))]
    assert seen == ["a->hello there", "b->hello there"]


async def test_cancelling_a_stream_cancels_the_turn() -> None:
    started = asyncio.Event()

    class Slow:
        async def __call__(self, turn: Turn, call_next: Next) -> Reply:
            started.set()
            await asyncio.sleep(30)
            return Reply(text="late")

    async def consume() -> None:
        async for _ in responder_of(Slow()).stream(Message(text="x")):
            pass

    task = asyncio.create_task(consume())
    await asyncio.wait_for(started.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_the_canned_reply_is_in_the_customers_language() -> None:
    reply = await responder_of(Failing()).reply(Message(text="退款要多久？"))
    assert reply.kind == "error" and reply.text == PromptLibrary().render("error", "zh")
