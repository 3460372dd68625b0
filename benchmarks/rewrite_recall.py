"""Recall@k of the retrieval stages on multi-turn dev sets, with and without the query-rewrite stage.

Does what `deskbot eval retrieval` does for multi-turn items (the item's history in `turn.history`, then the pipeline's
`rewrite` and `retrieve` stages), for several rewrite strategies side by side:

    .venv/bin/python benchmarks/rewrite_recall.py mtrag_cloud_govt dstc11_track5 [--limit N]

Each knowledge base is indexed once under benchmarks/results/kb/<name> with the embedder that suits its language:
MiniLM (the embedded default) for the English sets, multilingual-e5-small for crosswoz_zh (`EMBEDDERS`).
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Callable
from pathlib import Path

from bot.config import load_settings
from bot.evaluation.metrics import recall_at_k, unique_in_order
from bot.evaluation.questions import Question, load_questions
from bot.runtime import Runtime
from bot.stages.retrieve import RetrieveStage
from bot.stages.rewrite import KeywordRewriter
from bot.types import ChatMessage, Message, Reply, Turn

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
RESULTS = Path(__file__).resolve().parent / "results"


def concat_last(n: int) -> Callable[[list[ChatMessage], str], str]:
    def rewrite(history: list[ChatMessage], message: str) -> str:
        return " ".join([t.content for t in history[-n:]] + [message])

    return rewrite


STRATEGIES: dict[str, Callable[[list[ChatMessage], str], str]] = {
    "last-turn": lambda _h, m: m,
    "concat-4": concat_last(4),
    "keywords": KeywordRewriter().rewrite,
}


# `knowledge.embedder`, `knowledge.embedder_model` of the dev sets that are not English; the rest use the default.
EMBEDDERS = {"crosswoz_zh": ("e5", "multilingual-e5-small")}
ALTERNATIVES = {"minilm": ("sentence-transformers", "all-MiniLM-L6-v2"), "e5": EMBEDDERS["crosswoz_zh"]}
"""The embedders a set can be indexed with (`open_runtime(name, embedder)`)."""


def open_runtime(name: str, embedder: str | None = None) -> Runtime:
    """A runtime on the dev set's knowledge base with the set's embedder (`EMBEDDERS`, else MiniLM, the embedded
    default), indexed on first use. `embedder="e5"` or `"minilm"` overrides the set's own; an index built with an
    embedder other than the set's lives in its own folder, benchmarks/results/kb/<name>-<embedder>."""
    own = "e5" if name in EMBEDDERS else "minilm"
    chosen = embedder or own
    if chosen not in ALTERNATIVES:
        raise ValueError(f"unknown embedder {chosen!r}; choose one of {', '.join(ALTERNATIVES)}")
    kb = RESULTS / "kb" / (name if chosen == own else f"{name}-{chosen}")
    kb.mkdir(parents=True, exist_ok=True)
    settings = load_settings(data_dir=RESULTS / "data")
    settings.knowledge.path = kb
    if not chosen == own == "minilm":  # MiniLM on an English set: the default, as its index records
        settings.knowledge.embedder, settings.knowledge.embedder_model = ALTERNATIVES[chosen]
    settings.knowledge.top_k = 10
    settings.knowledge.sync_on_start = False
    runtime = Runtime(settings)
    knowledge = runtime.knowledge(sync=False)
    if knowledge.store.document_count == 0:
        print(f"indexing {name} ...", flush=True)
        knowledge.writer.sync([DATA / name / "kb" / "kb.jsonl"])
    return runtime


async def run(name: str, limit: int | None, k: int) -> dict[str, float]:
    runtime = open_runtime(name)
    retrieve = RetrieveStage(runtime.retriever(), 10)
    questions: list[Question] = [
        q for q in load_questions(DATA / name / "dev.jsonl") if q.answerable and q.relevant_ids and q.history
    ]
    questions = questions[:limit] if limit else questions
    results: dict[str, float] = {}

    async def capture(turn: Turn) -> Reply:
        return Reply(text="")

    for strategy, rewrite in STRATEGIES.items():
        started = time.perf_counter()
        total = 0.0
        for q in questions:
            turn = Turn(message=Message(text=q.question), history=list(q.history))
            turn.query = rewrite(list(q.history), q.question)
            await retrieve(turn, capture)
            ranked = unique_in_order([hit.chunk.document_id for hit in turn.hits])
            total += recall_at_k(ranked, q.relevant_ids, k)
        results[strategy] = total / len(questions)
        print(
            f"{name:24s} {strategy:10s} recall@{k} {results[strategy]:.3f}  n={len(questions)}"
            f"  {time.perf_counter() - started:.1f}s",
            flush=True,
        )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("datasets", nargs="+")
    parser.add_argument("--limit", type=int)
    parser.add_argument("--k", type=int, default=5)
    args = parser.parse_args()
    for name in args.datasets:
        asyncio.run(run(name, args.limit, args.k))


if __name__ == "__main__":
    main()
