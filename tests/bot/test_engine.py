"""The stage chain: order, early answers, streaming, errors."""

from __future__ import annotations

from typing import cast

import pytest

from bot.engine import Engine, Next, PipelineError, Stage, StageInfo, stage_info
from bot.runtime import Runtime
from bot.types import Message, Reply, Turn


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


async def test_an_impossible_order_is_refused_at_start() -> None:
    from bot.engine import PipelineError
    from bot.stages.answer import AnswerStage
    from bot.stages.guard import GuardStage
    from bot.stages.history import HistoryStage

    with pytest.raises(PipelineError, match="'answer' needs hits, which no stage before it provides"):
        Engine([cast(Stage, AnswerStage)], ["answer"])
    with pytest.raises(PipelineError, match=r"'guard' \(guard\) must come before 'history'"):
        Engine([cast(Stage, HistoryStage), cast(Stage, GuardStage)], ["history", "guard"])
    with pytest.raises(PipelineError, match="no stage answers the message"):
        Engine([cast(Stage, GuardStage)], ["guard"])


def test_a_field_the_caller_gives_satisfies_a_need() -> None:
    class NeedsHistory:
        info = StageInfo(role="answer", needs=frozenset({"history"}))

        async def __call__(self, turn: Turn, call_next: Next) -> Reply:
            return Reply(text=str(len(turn.history)))

    with pytest.raises(PipelineError):
        Engine([NeedsHistory()])
    Engine([NeedsHistory()], given=frozenset({"history"}))


def test_the_default_pipeline_is_valid(runtime: Runtime) -> None:
    engine = runtime.engine()
    assert engine.names == runtime.settings.pipeline.stages
    assert [stage_info(stage).role for stage in engine.stages] == [
        "guard",
        "command",
        "memory",
        "memory",
        "query",
        "retrieval",
        "check",
        "answer",
        "answer",
    ]


def test_a_pipeline_with_answer_only_is_refused_with_one_line(runtime: Runtime) -> None:
    runtime.settings.pipeline.stages = ["answer"]
    with pytest.raises(PipelineError, match=r"^pipeline.stages: 'answer' needs hits"):
        runtime.engine()
