"""The `Engine`: runs a message through a chain of stages and returns (or streams) the reply.

A stage is any `async def __call__(turn, call_next) -> Reply`. It may answer early (commands, guards, handoff) or
call `call_next(turn)` and post-process what the rest of the chain answered. Adding behaviour means adding a stage.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import replace
from typing import Protocol, runtime_checkable

from bot.types import ChatMessage, Emit, Message, Reply, StreamEvent, TextDelta, Turn

log = logging.getLogger(__name__)

Next = Callable[[Turn], Awaitable[Reply]]


@runtime_checkable
class Stage(Protocol):
    async def __call__(self, turn: Turn, call_next: Next) -> Reply: ...


@runtime_checkable
class WarmsUp(Protocol):
    async def warm_up(self) -> None:
        """Load heavy resources (models, indexes) before the first message."""
        ...


async def _end_of_chain(turn: Turn) -> Reply:
    log.warning("no stage answered message in conversation %s", turn.message.conversation_id)
    return Reply(text="", kind="silent", conversation_id=turn.message.conversation_id)


class Engine:
    def __init__(self, stages: Sequence[Stage]) -> None:
        self.stages = list(stages)

    async def warm_up(self) -> None:
        for stage in self.stages:
            if isinstance(stage, WarmsUp):
                await stage.warm_up()

    def _chain(self) -> Next:
        call_next: Next = _end_of_chain
        for stage in reversed(self.stages):
            call_next = _bind(stage, call_next)
        return call_next

    async def handle(self, message: Message, emit: Emit | None = None, history: Sequence[ChatMessage] = ()) -> Reply:
        """The full reply to `message`; `emit`, when given, receives the text as it is generated.

        `history` replays earlier turns (evaluations); normally the history stage loads them from the store.
        """
        turn = Turn(message=message, emit=emit, history=list(history))
        reply = await self._chain()(turn)
        ttft = (turn.first_token_at - turn.started) * 1000.0 if turn.first_token_at is not None else None
        return replace(
            reply,
            conversation_id=reply.conversation_id or message.conversation_id,
            latency_ms=turn.elapsed_ms(),
            ttft_ms=reply.ttft_ms if reply.ttft_ms is not None else ttft,
        )

    async def stream(self, message: Message) -> AsyncIterator[StreamEvent]:
        """Yield `TextDelta`s as the reply is written, then the final `Reply`."""
        queue: asyncio.Queue[StreamEvent | BaseException] = asyncio.Queue()

        async def emit(text: str) -> None:
            await queue.put(TextDelta(text))

        async def run() -> None:
            try:
                await queue.put(await self.handle(message, emit))
            except BaseException as error:  # handed to the consumer, which re-raises it
                await queue.put(error)

        task = asyncio.create_task(run())
        try:
            while True:
                event = await queue.get()
                if isinstance(event, BaseException):
                    raise event
                yield event
                if isinstance(event, Reply):
                    return
        finally:
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task


def _bind(stage: Stage, call_next: Next) -> Next:
    async def call(turn: Turn) -> Reply:
        return await stage(turn, call_next)

    return call
