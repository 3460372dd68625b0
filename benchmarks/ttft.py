"""Time to first token of the default model on the prompts the answer policy really sends.

For answerable dev items that the policy would send to the model (not FAQ, not abstained), the prompt is built by
`AnswerStage` from the `rewrite` + `retrieve` stages' hits, counted in the model's tokens, and streamed until the first
token arrives (then the stream is closed, which cancels generation). Compared: float32 vs bfloat16, and the default
context budget vs a tighter one.

    .venv/bin/python benchmarks/ttft.py [--dataset mtrag_cloud_govt] [--n 10]
"""

from __future__ import annotations

import argparse
import asyncio
import time

from rewrite_recall import DATA, open_runtime

from bot.evaluation.metrics import percentile
from bot.evaluation.questions import load_questions
from bot.llm.base import GenerationOptions
from bot.llm.transformers_backend import TransformersLLM
from bot.stages.answer import AnswerStage
from bot.stages.faq import FaqStage
from bot.stages.retrieve import RetrieveStage
from bot.stages.rewrite import RewriteStage
from bot.types import ChatMessage, Message, Reply, Turn


async def prompts(dataset: str, n: int, budget: int, llm: TransformersLLM) -> list[list[ChatMessage]]:
    runtime = open_runtime(dataset)
    runtime.settings.answer.max_context_tokens = budget
    runtime._llm = llm
    services = runtime.services()
    rewrite, retrieve, faq, answer = (
        RewriteStage.build(services),
        RetrieveStage(runtime.retriever(), 4),
        FaqStage.build(services),
        AnswerStage.build(services),
    )
    built: list[list[ChatMessage]] = []

    async def end(turn: Turn) -> Reply:
        return Reply(text="")

    for q in load_questions(DATA / dataset / "dev.jsonl"):
        if not q.answerable:
            continue
        turn = Turn(message=Message(text=q.question), history=list(q.history))
        await rewrite(turn, lambda t: retrieve(t, end))
        passages = answer.select_passages(turn.hits)
        if faq.faq_answer(turn.hits) or not passages or answer.coverage(q.question, turn.hits) < 0.55:
            continue
        built.append(answer.messages_for(q.question, passages, answer.recent_history(turn.history).turns, {}))
        if len(built) == n:
            break
    return built


async def first_token_ms(llm: TransformersLLM, messages: list[ChatMessage]) -> float:
    started = time.perf_counter()
    stream = llm.stream(messages, GenerationOptions(max_new_tokens=8, timeout_s=60))
    await anext(stream)
    elapsed = (time.perf_counter() - started) * 1000
    await stream.aclose()
    return elapsed


async def main(dataset: str, n: int) -> None:
    print(f"{'dtype':9s} {'budget':>6s} {'prompt tokens p50/max':>22s} {'TTFT p50 ms':>12s} {'p95 ms':>8s}")
    for dtype in ("float32", "bfloat16"):
        from bot.config import load_settings

        settings = load_settings(data_dir=__import__("pathlib").Path(__file__).parent / "results" / "data")
        settings.llm.dtype = dtype  # type: ignore[assignment]
        llm = TransformersLLM.build(settings)
        await asyncio.to_thread(llm.load)
        for budget in (600, 300, 200):
            batch = await prompts(dataset, n, budget, llm)
            tokens = [llm.prompt_tokens(m) for m in batch]
            await first_token_ms(llm, batch[0])  # warm-up
            times = [await first_token_ms(llm, m) for m in batch]
            print(
                f"{dtype:9s} {budget:6d} {percentile(tokens, 50):14.0f}/{max(tokens):<7d} "
                f"{percentile(times, 50):12.0f} {percentile(times, 95):8.0f}",
                flush=True,
            )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dataset", default="mtrag_cloud_govt")
    parser.add_argument("--n", type=int, default=10)
    args = parser.parse_args()
    asyncio.run(main(args.dataset, args.n))
