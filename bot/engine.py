"""The `Engine`: runs a message through a chain of stages and returns the reply.

A stage is any `async def __call__(turn, call_next) -> Reply`. It may answer early (commands, guards, handoff) or
call `call_next(turn)` and post-process what the rest of the chain answered. Adding behaviour means adding a stage.

A stage says what it is with a class attribute `info = StageInfo(role, needs, provides)`: its role (what kind of
work it does; evaluations pick stages by it) and the turn fields it needs earlier stages to have filled in and
those it fills in itself. The engine checks the order when it is built and refuses an impossible one. Channels do
not call the engine themselves: they go through `bot.responder.Responder`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from typing import Literal, Protocol, runtime_checkable

from bot.errors import ConfigError
from bot.types import ChatMessage, Emit, Message, Reply, Turn

log = logging.getLogger(__name__)

Next = Callable[[Turn], Awaitable[Reply]]

StageRole = Literal["guard", "command", "memory", "query", "retrieval", "check", "answer", "custom"]
"""guard: polices incoming messages; command: slash commands; memory: reads and writes the conversation store;
query: shapes the search query; retrieval: finds passages; check: inspects the reply the later stages wrote;
answer: writes the reply; custom: anything else (a third-party stage that declares nothing)."""

ROLE_ORDER: tuple[StageRole, ...] = ("guard", "command", "memory", "query", "retrieval", "check", "answer")
"""The order the known roles must keep in a pipeline: input is policed before it is stored, the query is shaped
before retrieval, and a check wraps the answering stages it inspects. Custom stages may stand anywhere."""


@dataclass(frozen=True)
class StageInfo:
    role: StageRole = "custom"
    needs: frozenset[str] = frozenset()
    provides: frozenset[str] = frozenset()


@runtime_checkable
class Stage(Protocol):
    async def __call__(self, turn: Turn, call_next: Next) -> Reply: ...


@runtime_checkable
class WarmsUp(Protocol):
    async def warm_up(self) -> None:
        """Load heavy resources (models, indexes) before the first message."""
        ...


class PipelineError(ConfigError):
    """The configured stages cannot work in this order."""


def stage_info(stage: object) -> StageInfo:
    """What `stage` (a stage, or the class it is built from) declares about itself."""
    info = getattr(stage, "info", None)
    return info if isinstance(info, StageInfo) else StageInfo()


def check_pipeline(names: Sequence[str], infos: Sequence[StageInfo], given: frozenset[str] = frozenset()) -> None:
    """Refuse an impossible stage order with one line naming the stage; `given`: turn fields the caller fills."""
    provided = set(given)
    last_rank, last_name = -1, ""
    for name, info in zip(names, infos, strict=True):
        missing = sorted(info.needs - provided)
        if missing:
            raise PipelineError(
                f"pipeline.stages: '{name}' needs {', '.join(missing)}, which no stage before it provides"
            )
        if info.role in ROLE_ORDER:
            rank = ROLE_ORDER.index(info.role)
            if rank < last_rank:
                raise PipelineError(f"pipeline.stages: '{name}' ({info.role}) must come before '{last_name}'")
            last_rank, last_name = rank, name
        provided |= info.provides
    if infos and all(info.role != "custom" for info in infos) and not any(i.role == "answer" for i in infos):
        raise PipelineError("pipeline.stages: no stage answers the message (add 'answer')")


async def _end_of_chain(turn: Turn) -> Reply:
    log.warning("no stage answered message in conversation %s", turn.message.conversation_id)
    return Reply(text="", kind="silent", conversation_id=turn.message.conversation_id)


class Engine:
    def __init__(
        self, stages: Sequence[Stage], names: Sequence[str] | None = None, given: frozenset[str] = frozenset()
    ) -> None:
        """`names`: the stages' names in `[pipeline] stages` (for errors); `given`: turn fields the caller fills in
        (`handle(history=...)` gives "history")."""
        self.stages = list(stages)
        self.names = list(names) if names is not None else [type(stage).__name__ for stage in self.stages]
        check_pipeline(self.names, [stage_info(stage) for stage in self.stages], given)

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

        `history` is the conversation so far when the caller has it (an evaluation replaying a dialogue); otherwise
        a memory stage loads it from the store.
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


def _bind(stage: Stage, call_next: Next) -> Next:
    async def call(turn: Turn) -> Reply:
        return await stage(turn, call_next)

    return call
