"""`Responder`: the one way every channel and the CLI gets a reply to a message, streamed or not.

It builds the engine (in the background, so a server listens at once) and reports whether it is ready; a reply
never carries exception text to a customer: a turn that fails, or an engine that is still loading or failed to
load, gives the canned error reply (`prompts/error.j2`) and a log line. Listeners (metrics, outgoing webhooks) see
every reply. `stream` yields `TextDelta`s as the reply is written, then the `Reply`, and always ends.

In a process of its own (`freeze_heap`: a `deskbot serve` worker or answer process) the loaded heap is frozen for
the garbage collector (`gc.freeze`): the models live as long as the process, and without that every full
collection walked them all again, stopping the process for about 100 ms.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from typing import TYPE_CHECKING

from bot.language import reply_language
from bot.logging_setup import log_context
from bot.types import ChatMessage, Emit, Message, Reply, StreamEvent, TextDelta
from knowledge.errors import DeskbotError

if TYPE_CHECKING:
    from bot.engine import Engine
    from knowledge.reports import Progress
    from prompts import PromptLibrary

log = logging.getLogger(__name__)

ReplyListener = Callable[[Message, Reply], None]


class EngineNotReadyError(DeskbotError):
    """The knowledge base or the models are still loading (or failed to load)."""


class Responder:
    """`build_engine(progress)` builds the engine (syncing the knowledge base, reporting to `progress`).

    `ready_timeout_s`: how long a reply waits for the engine to load (None: as long as it takes); `freeze_heap`:
    freeze what loading loaded (set by a process that lives as long as the engine); `warm_models`: load the
    engine's models before it counts as ready (off where other processes answer every turn, and this one only
    reads the engine's knowledge base: a model it is asked for after all loads on first use). Set them before
    `start`.
    """

    def __init__(
        self,
        build_engine: Callable[[Progress | None], Engine],
        prompts: PromptLibrary,
        ready_timeout_s: float | None = None,
        freeze_heap: bool = False,
    ) -> None:
        self._build_engine = build_engine
        self._prompts = prompts
        self.ready_timeout_s = ready_timeout_s
        self.freeze_heap = freeze_heap
        self.warm_models = True
        self._task: asyncio.Task[Engine] | None = None
        self._listeners: list[ReplyListener] = []

    def listen(self, listener: ReplyListener) -> None:
        """Call `listener(message, reply)` after every reply (it must not block)."""
        self._listeners.append(listener)

    def start(self, progress: Progress | None = None) -> None:
        """Start building the engine and loading its models, if not started yet (needs a running event loop)."""
        if self._task is None:
            self._task = asyncio.create_task(self._load(progress), name="deskbot-engine-loader")

    async def _load(self, progress: Progress | None) -> Engine:
        engine = await asyncio.to_thread(self._build_engine, progress)
        if self.warm_models:
            await engine.warm_up()
        if self.freeze_heap:
            gc.collect()
            gc.freeze()
        log.info("engine ready")
        return engine

    @property
    def ready(self) -> bool:
        return self._task is not None and self._task.done() and self._task.exception() is None

    @property
    def failure(self) -> BaseException | None:
        if self._task is None or not self._task.done() or self._task.cancelled():
            return None
        return self._task.exception()

    async def engine(self) -> Engine:
        """The engine once it has loaded; `EngineNotReadyError` when loading outlasts the ready timeout or failed."""
        self.start()
        assert self._task is not None
        try:
            return await asyncio.wait_for(asyncio.shield(self._task), self.ready_timeout_s)
        except TimeoutError as error:
            raise EngineNotReadyError(f"the models are still loading after {self.ready_timeout_s:g}s") from error
        except DeskbotError as error:
            raise EngineNotReadyError(f"the engine failed to load: {error}") from error

    async def warm_up(self, progress: Progress | None = None) -> None:
        """Wait until the engine has loaded; a load failure is raised as it is (the CLI shows it in one line)."""
        self.start(progress)
        assert self._task is not None
        await asyncio.shield(self._task)

    async def stop(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    def fallback(self, message: Message) -> Reply:
        """The canned reply for a turn that could not be answered."""
        language = reply_language(message)
        return Reply(
            text=self._prompts.render("error", language), kind="error", conversation_id=message.conversation_id
        )

    async def reply(self, message: Message, emit: Emit | None = None, history: Sequence[ChatMessage] = ()) -> Reply:
        """The reply to `message`; `emit`, when given, receives its text as it is written; `history`, when given, is
        the conversation so far as the caller has it (else the store's). Never raises for a failed turn. Everything
        logged meanwhile carries the conversation and channel (`bot.logging_setup`)."""
        with log_context(conversation_id=message.conversation_id, channel=message.channel):
            reply = await self._reply(message, emit, history)
            log.info("answered", extra={"latency_ms": round(reply.latency_ms, 1), "kind": reply.kind})
        return reply

    async def _reply(self, message: Message, emit: Emit | None, history: Sequence[ChatMessage]) -> Reply:
        try:
            engine = await self.engine()
        except EngineNotReadyError as error:
            log.warning("cannot answer conversation %s: %s", message.conversation_id, error)
            reply = self.fallback(message)
        else:
            try:
                reply = await engine.handle(message, emit, history)
            except Exception:
                log.exception("turn failed in conversation %s (channel %s)", message.conversation_id, message.channel)
                reply = self.fallback(message)
        for listener in self._listeners:
            try:
                listener(message, reply)
            except Exception:
                log.exception("reply listener %r failed", listener)
        return reply

    async def stream(self, message: Message, history: Sequence[ChatMessage] = ()) -> AsyncIterator[StreamEvent]:
        """Yield `TextDelta`s as the reply is written, then the final `Reply` (`history` as in `reply`); always ends
        with a `Reply`."""
        queue: asyncio.Queue[StreamEvent | BaseException] = asyncio.Queue()

        async def emit(text: str) -> None:
            await queue.put(TextDelta(text))

        async def run() -> None:
            try:
                await queue.put(await self.reply(message, emit, history))
            except BaseException as error:  # cancellation: handed to the consumer, which re-raises it
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
