"""How often retrieval finds the labelled document first: recall@1/3/5 and MRR@10 by embedder and ranking variant.

The composer cites a document among the first hits, so the share of items whose relevant document is retrieved at
all (and first) caps the citation precision any passage choice can reach. This runs what `deskbot eval retrieval`
runs (the pipeline's query stages, rewrite included, on every answerable item of the dev set) over the dev set's
knowledge base indexed with each embedder (`rewrite_recall.open_runtime`: MiniLM's index under
benchmarks/results/kb/<name>, e5's under <name>-e5 for an English set), once per hybrid-retrieval variant, and prints
one table row per (set, embedder, variant) with the query latency of the whole query path.

    PYTHONPATH=.:benchmarks .venv/bin/python benchmarks/retrieval_ceiling.py covid_faq_paraphrases \\
        --embedders minilm e5 --variants shipped question_headings=false lexical_weight=0.3

A variant is `shipped` (the `HybridSettings` defaults) or comma-separated `field=value` overrides of them.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import statistics
from collections.abc import Callable

from rewrite_recall import DATA, open_runtime

from bot.evaluation.metrics import mrr_at_k, percentile, recall_at_k
from bot.evaluation.questions import load_questions
from bot.evaluation.retrieval import RankedItem, RetrievalEvaluator
from bot.runtime import Runtime
from knowledge.retrievers.hybrid import HybridRetriever, HybridSettings
from knowledge.store import KnowledgeStore


def hybrid_settings(variant: str) -> HybridSettings:
    """`shipped`, or `field=value[,field=value]` overrides of the shipped `HybridSettings`."""
    if variant == "shipped":
        return HybridSettings()
    fields = {field.name: field.type for field in dataclasses.fields(HybridSettings)}
    overrides: dict[str, bool | int | float] = {}
    for part in variant.split(","):
        name, _, value = part.partition("=")
        if name not in fields or not value:
            raise SystemExit(f"bad variant {part!r}: use field=value with a field of {', '.join(fields)}")
        overrides[name] = _value(fields[name], value)
    return dataclasses.replace(HybridSettings(), **overrides)  # type: ignore[arg-type]


def _value(kind: object, text: str) -> bool | int | float:
    if kind in (bool, "bool"):
        return text.lower() in ("1", "true", "yes")
    return int(text) if kind in (int, "int") else float(text)


def runtime_with(name: str, embedder: str | None, settings: HybridSettings) -> Runtime:
    """The dev set's runtime on the `embedder`'s index (None: the set's own), retrieving with hybrid `settings`."""
    runtime = open_runtime(name, embedder)

    def hybrid_over(store: KnowledgeStore) -> HybridRetriever:
        return HybridRetriever(store, settings)

    runtime._retriever_over = hybrid_over  # type: ignore[method-assign]
    return runtime


async def ranked_items(runtime: Runtime, name: str, limit: int | None) -> list[RankedItem]:
    questions = [q for q in load_questions(DATA / name / "dev.jsonl") if q.answerable and q.relevant_ids][:limit]
    evaluator = RetrievalEvaluator(runtime)
    evaluator.check_questions(questions)
    await evaluator.rank(questions[0])  # warm up: the BM25 index, the heading matrix, the embedder
    return [await evaluator.rank(question) for question in questions]


def row(items: list[RankedItem]) -> dict[str, float]:
    def mean_of(measure: Callable[..., float]) -> float:
        return statistics.mean(measure(item.ranked_ids, item.question.relevant_ids) for item in items)

    latencies = [item.latency_ms for item in items]
    return {
        "n": len(items),
        "first relevant": mean_of(lambda ranked, relevant: float(bool(ranked) and ranked[0] in relevant)),
        "recall@1": mean_of(lambda ranked, relevant: recall_at_k(ranked, relevant, 1)),
        "recall@3": mean_of(lambda ranked, relevant: recall_at_k(ranked, relevant, 3)),
        "recall@5": mean_of(lambda ranked, relevant: recall_at_k(ranked, relevant, 5)),
        "mrr@10": mean_of(lambda ranked, relevant: mrr_at_k(ranked, relevant, 10)),
        "p50_ms": percentile(latencies, 50),
        "p95_ms": percentile(latencies, 95),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("datasets", nargs="+")
    parser.add_argument("--embedders", nargs="+", default=["minilm", "e5"], choices=["minilm", "e5"])
    parser.add_argument("--variants", nargs="+", default=["shipped"])
    parser.add_argument("--limit", type=int, default=None, help="first N answerable items of each set")
    args = parser.parse_args()
    settings = {variant: hybrid_settings(variant) for variant in args.variants}
    columns = ["n", "first relevant", "recall@1", "recall@3", "recall@5", "mrr@10", "p50_ms", "p95_ms"]
    print("| dev set | embedder | variant | " + " | ".join(columns) + " |")
    print("|" + " --- |" * (3 + len(columns)))
    for name in args.datasets:
        for embedder in args.embedders:
            for variant, hybrid in settings.items():
                result = row(asyncio.run(ranked_items(runtime_with(name, embedder, hybrid), name, args.limit)))
                cells = [f"{result[c]:.3f}" if c != "n" else str(result[c]) for c in columns]
                print(f"| {name} | {embedder} | {variant} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
