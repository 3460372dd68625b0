"""Engine overhead per turn: everything but model calls, on the default stage pipeline.

The LLM is `FakeLLM` with no delay and the embedder is `HashEmbedder` (both cost ~nothing), the store is the real
SQLite database, so what is timed is the stages themselves: guard, commands, handoff, history (store reads and
writes), rewrite, retrieval over the sample FAISS index, the answer policy and prompt rendering.

    .venv/bin/python benchmarks/engine.py [--turns N]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from bot.config import load_settings
from bot.engine import Engine, Next
from bot.evaluation.metrics import percentile
from bot.llm.fake import FakeLLM
from bot.plugins import PluginRegistry
from bot.runtime import Runtime
from bot.types import Message, Reply, Turn

QUESTIONS = [
    "What is the returns policy?",
    "How long does it take?",
    "How do I reset my Nimbus Thermo?",
    "Does it work without wifi?",
    "Can I split the payment between two cards?",
]


class Timed:
    """Wraps a stage and records the time spent in it, minus the time spent in the stages after it."""

    def __init__(self, name: str, stage: object, times: dict[str, list[float]]) -> None:
        self.name, self.stage, self.times = name, stage, times

    async def __call__(self, turn: Turn, call_next: Next) -> Reply:
        inner = 0.0

        async def timed_next(t: Turn) -> Reply:
            nonlocal inner
            started = time.perf_counter()
            try:
                return await call_next(t)
            finally:
                inner += time.perf_counter() - started

        started = time.perf_counter()
        reply = await self.stage(turn, timed_next)  # type: ignore[operator]
        self.times.setdefault(self.name, []).append((time.perf_counter() - started - inner) * 1000)
        return reply


async def main(turns: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        settings = load_settings(data_dir=Path(folder))
        settings.knowledge.embedder = "hash"
        settings.knowledge.embedder_model = "hash-256"
        settings.llm.backend = "fake"
        settings.answer.faq_min_score = 1.01  # always go through the model path (prompt building included)
        settings.answer.min_score = 0.0
        settings.answer.min_coverage = 0.0
        settings.guard.rate_limit_messages = 10**9
        registry = PluginRegistry()
        registry.register("llm", "fake", lambda _s: FakeLLM("Fine. [1]"))
        runtime = Runtime(settings, registry)
        engine = runtime.engine()
        times: dict[str, list[float]] = {}
        names = settings.pipeline.stages
        timed = Engine([Timed(name, stage, times) for name, stage in zip(names, engine.stages, strict=True)])
        totals = []
        for number in range(turns):
            message = Message(text=QUESTIONS[number % len(QUESTIONS)], conversation_id=f"c{number // 5}", user_id="u")
            started = time.perf_counter()
            await timed.handle(message)
            totals.append((time.perf_counter() - started) * 1000)
        warm = slice(10, None)
        print(f"{'stage':10s} {'p50 ms':>8s} {'p95 ms':>8s}")
        for name in names:
            values = times[name][warm]
            print(f"{name:10s} {percentile(values, 50):8.3f} {percentile(values, 95):8.3f}")
        print(f"{'total':10s} {percentile(totals[warm], 50):8.3f} {percentile(totals[warm], 95):8.3f}  ({turns} turns)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--turns", type=int, default=200)
    asyncio.run(main(parser.parse_args().turns))
