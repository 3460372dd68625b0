"""Where the time of a composed reply goes: p50/p95 milliseconds per stage of the engine, on each dev set.

Runs what `answer_modes.py --modes compose` runs (the answer pipeline minus guards, commands and the store, on the
set's knowledge base under benchmarks/results/kb/<name>) and times each stage by its own time (the time inside it
less the time of the stages after it), the answer stage split into its abstention evidence and the composition,
and the embedder's calls inside each (`... embed`):

    PYTHONPATH=.:benchmarks .venv/bin/python benchmarks/compose_stages.py crosswoz_zh --limit 100
    PYTHONPATH=.:benchmarks .venv/bin/python benchmarks/compose_stages.py crosswoz_zh --limit 50 --cprofile 25

`--cprofile N` also prints the N functions with the most cumulative time over the set's turns.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import functools
import io
import pstats
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from rewrite_recall import DATA, open_runtime

from bot.config import KnowledgeSettings
from bot.engine import Engine, Next
from bot.evaluation.answers import ANSWER_ROLES, answer_all
from bot.evaluation.metrics import percentile
from bot.evaluation.questions import load_questions
from bot.stages.answer import AnswerStage
from bot.types import Reply, Turn


class StageClock:
    """Own time per label in the current turn: time inside a label less the time of the labels opened inside it.
    Turns run one at a time, so one stack serves the event loop and the threads stages hand work to."""

    def __init__(self) -> None:
        self.turn: dict[str, float] = defaultdict(float)
        self._open: list[list[Any]] = []  # [label, started, time of the labels inside]

    @contextmanager
    def timing(self, label: str) -> Iterator[None]:
        entry: list[Any] = [label, time.perf_counter(), 0.0]
        self._open.append(entry)
        try:
            yield
        finally:
            self._open.pop()
            spent = time.perf_counter() - entry[1]
            self.turn[label] += (spent - entry[2]) * 1000.0
            if self._open:
                self._open[-1][2] += spent

    def inner_label(self, suffix: str) -> str:
        return f"{self._open[-1][0]} {suffix}" if self._open else suffix

    def wrap(self, function: Callable[..., Any], label: str | None = None, suffix: str = "") -> Callable[..., Any]:
        @functools.wraps(function)
        def timed(*args: Any, **kwargs: Any) -> Any:
            with self.timing(label or self.inner_label(suffix)):
                return function(*args, **kwargs)

        return timed


class TimedStage:
    """A stage timed under its pipeline name; the stages it awaits downstream are timed inside it, on their own."""

    def __init__(self, stage: Any, name: str, clock: StageClock) -> None:
        self._stage, self._name, self._clock = stage, name, clock

    async def __call__(self, turn: Turn, call_next: Next) -> Reply:
        with self._clock.timing(self._name):
            reply: Reply = await self._stage(turn, call_next)
            return reply


def instrument(engine: Engine, clock: StageClock) -> None:
    """Time every stage, the answer stage's abstention evidence and composition, and the embedder's calls."""
    for stage in engine.stages:
        if isinstance(stage, AnswerStage):
            stage.grounded = clock.wrap(stage.grounded, "answer: abstention evidence")  # type: ignore[method-assign]
            composer = stage._composer
            composer.reply = clock.wrap(composer.reply, "answer: compose")  # type: ignore[method-assign]
            embedder = composer._embedder
            if embedder is not None:
                embedder.embed_query = clock.wrap(embedder.embed_query, suffix="embed")  # type: ignore[method-assign]
                embedder.embed_documents = clock.wrap(  # type: ignore[method-assign]
                    embedder.embed_documents, suffix="embed"
                )
    engine.stages = [TimedStage(stage, name, clock) for stage, name in zip(engine.stages, engine.names, strict=True)]


async def profile(name: str, limit: int, top: int) -> None:
    runtime = open_runtime(name)
    runtime.settings.knowledge.top_k = KnowledgeSettings().top_k
    runtime.settings.answer.mode = "compose"
    engine = runtime.engine(roles=ANSWER_ROLES, given=frozenset({"history"}))
    await engine.warm_up()
    clock = StageClock()
    instrument(engine, clock)
    questions = load_questions(DATA / name / "dev.jsonl", limit)
    per_label: dict[str, list[float]] = defaultdict(list)
    totals: list[float] = []
    profiler = cProfile.Profile() if top else None
    for question in questions:
        clock.turn.clear()
        if profiler:
            profiler.enable()
        results = await answer_all(engine, [question])
        if profiler:
            profiler.disable()
        totals.append(results[0].latency_ms)
        for label, value in clock.turn.items():
            per_label[label].append(value)
    print(
        f"\n{name}: {len(questions)} turns, latency p50 {percentile(totals, 50):.0f} ms, "
        f"p95 {percentile(totals, 95):.0f} ms"
    )
    print("| stage | turns | mean ms | p50 ms | p95 ms |")
    print("| --- | --- | --- | --- | --- |")
    for label, values in per_label.items():
        padded = values + [0.0] * (len(questions) - len(values))
        print(
            f"| {label} | {len(values)} | {sum(padded) / len(padded):.1f} | {percentile(padded, 50):.1f} "
            f"| {percentile(padded, 95):.1f} |"
        )
    if profiler:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(top)
        print(out.getvalue())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("datasets", nargs="+")
    parser.add_argument("--limit", type=int, default=100)
    parser.add_argument("--cprofile", type=int, default=0, metavar="N")
    args = parser.parse_args()
    for name in args.datasets:
        asyncio.run(profile(name, args.limit, args.cprofile))


if __name__ == "__main__":
    main()
