"""Generated replies end to end in the engine: when the customer sees the first sentence, and when the whole reply.

The embedded SmolLM2 answers dev questions of covid_faq_paraphrases and mtrag_cloud_govt through the stages
`deskbot eval answers` runs (retrieval, the output guard, FAQ, the answer stage with `answer.mode = "generate"`),
with a streaming channel: each piece the engine emits is stamped. Timed per reply in which the model ran (kind
`answer`, or replaced after a failed check):

- **first sentence**: the first emitted piece. The stream is held back once (`bot.sentence_release`): a sentence
  goes out as soon as the next one begins and it has passed the claim and the output-guard checks.
- **first sentence, two hold-backs**: when the same reply's first sentence went out before the release was one:
  the output guard held the answer stage's released text back again until the next sentence arrived, so sentence 1
  was shown when the answer stage released sentence 2 (or at the end of the reply). Computed from the same stamps,
  so both columns come from the same replies.
- **whole reply**: from the message to the final reply, and the CPU time of the process meanwhile (the model runs on
  one thread, `llm.threads`, so on idle cores the wall time is about the CPU time).

The variants run the transformers backend, and the last one llama.cpp (`LlamaCppLLM`) at the same settings: the ratio
of those two rows is the runtime's gain in the engine. Each variant runs on every item in turn (interleaved, so that
load elsewhere hits all alike); ROUGE-L of the final replies (generated or their replacement) against the
references shows what a shorter prompt costs. The cores are shared on the development machine: absolute times are
pessimistic, read the ratios.

    PYTHONPATH=.:benchmarks .venv/bin/python benchmarks/generated_replies.py [--n 20] [--defaults-only]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from dataclasses import dataclass, field

from rewrite_recall import DATA, open_runtime

from bot.engine import Engine
from bot.evaluation.answers import ANSWER_ROLES
from bot.evaluation.metrics import percentile, rouge_l
from bot.evaluation.questions import Question, load_questions
from bot.llm.base import LLMBackend
from bot.types import Message

DATASETS = ("covid_faq_paraphrases", "mtrag_cloud_govt")
VARIANTS: dict[str, tuple[str, dict[str, int]]] = {
    "transformers, passages 300 tokens, 40 new tokens": (
        "transformers",
        {"max_context_tokens": 300, "max_new_tokens": 40},
    ),
    "transformers, passages 200 tokens, 40 new tokens": (
        "transformers",
        {"max_context_tokens": 200, "max_new_tokens": 40},
    ),
    "transformers, passages 200 tokens, 32 new tokens": (
        "transformers",
        {"max_context_tokens": 200, "max_new_tokens": 32},
    ),
    "llamacpp, passages 200 tokens, 32 new tokens": ("llamacpp", {"max_context_tokens": 200, "max_new_tokens": 32}),
}
DEFAULTS = ("transformers, passages 200 tokens, 32 new tokens", "llamacpp, passages 200 tokens, 32 new tokens")
LLM_KEYS = {"max_new_tokens", "max_sentences"}


@dataclass
class Timed:
    first_s: float
    first_two_holds_s: float
    whole_s: float
    cpu_s: float  # CPU time of the process for the whole reply: with the model's one thread, about its idle wall time


@dataclass
class Row:
    name: str
    timed: list[Timed] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    corrected: int = 0


def engine_for(dataset: str, llms: dict[str, LLMBackend], backend: str, variant: dict[str, int]) -> Engine:
    runtime = open_runtime(dataset)
    runtime.settings.llm.backend = backend
    if backend in llms:
        runtime._llm = llms[backend]  # one model of each backend for every engine
    runtime.settings.answer.mode = "generate"
    for key, value in variant.items():
        setattr(runtime.settings.llm if key in LLM_KEYS else runtime.settings.answer, key, value)
    llms[backend] = runtime.services().llm
    return runtime.engine(roles=ANSWER_ROLES, given=frozenset({"history"}))


async def timed_reply(engine: Engine, question: Question) -> tuple[Timed, str, str, bool] | None:
    stamps: list[float] = []

    async def emit(_text: str) -> None:
        stamps.append(time.perf_counter())

    message = Message(text=question.question, user_id="bench", conversation_id=f"bench-{question.id}", channel="b")
    started, cpu = time.perf_counter(), time.process_time()
    reply = await engine.handle(message, emit, history=question.history)
    ended, cpu = time.perf_counter(), time.process_time() - cpu
    if reply.kind != "answer" and not reply.corrected and reply.kind != "blocked":
        return None  # the model did not run (a curated FAQ answer, an abstention)
    first = stamps[0] if stamps else ended
    second = stamps[1] if len(stamps) > 1 else ended
    return Timed(first - started, second - started, ended - started, cpu), reply.text, reply.kind, reply.corrected


async def main(n: int, names: list[str]) -> None:
    llms: dict[str, LLMBackend] = {}
    rows = [Row(name) for name in names]
    for dataset in DATASETS:
        engines = []
        for name in names:
            engine = engine_for(dataset, llms, *VARIANTS[name])
            await engine.warm_up()
            engines.append(engine)
        taken = 0
        for question in load_questions(DATA / dataset / "dev.jsonl"):
            if taken == n:
                break
            if not question.answerable:
                continue
            results = [await timed_reply(engine, question) for engine in engines]
            if any(result is None for result in results):
                continue
            taken += 1
            for row, result in zip(rows, results, strict=True):
                assert result is not None
                timed, text, _kind, corrected = result
                row.timed.append(timed)
                row.texts.append(text)
                row.references.append(question.answer)
                row.corrected += corrected
        print(f"{dataset}: {taken} generated replies per variant", flush=True)
        print_table(rows, f"after {dataset}")


def print_table(rows: list[Row], so_far: str) -> None:
    print(
        f"\nGenerated replies in the engine, {so_far} (load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)"
    )
    print(
        "| settings | replies | first sentence p50 / p95 s | two hold-backs p50 / p95 s | whole reply p50 / p95 s |"
        " CPU p50 / p95 s | corrected | ROUGE-L |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for row in rows:
        first = [t.first_s for t in row.timed]
        two = [t.first_two_holds_s for t in row.timed]
        whole = [t.whole_s for t in row.timed]
        cpu = [t.cpu_s for t in row.timed]
        print(
            f"| {row.name} | {len(row.timed)} | {percentile(first, 50):.2f} / {percentile(first, 95):.2f} | "
            f"{percentile(two, 50):.2f} / {percentile(two, 95):.2f} | "
            f"{percentile(whole, 50):.2f} / {percentile(whole, 95):.2f} | "
            f"{percentile(cpu, 50):.2f} / {percentile(cpu, 95):.2f} | {row.corrected} | "
            f"{rouge_l(row.texts, row.references):.3f} |",
            flush=True,
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=20, help="generated replies per dev set")
    parser.add_argument("--defaults-only", action="store_true", help="only the two backends at the defaults")
    args = parser.parse_args()
    asyncio.run(main(args.n, list(DEFAULTS if args.defaults_only else VARIANTS)))
