"""What the customer is told, end to end, per answer mode: `answer.mode` compose vs generate on the dev sets.

Runs what `deskbot eval answers` runs (the pipeline minus guards, commands and the store, each item's history handed
to the engine) on each dev set's knowledge base (indexed once under benchmarks/results/kb/<name>, the set's embedder:
`rewrite_recall.EMBEDDERS`), once per mode, in the same process, and prints one table: ROUGE-L, token F1, citation
precision (cited documents that the item's labels call relevant), citation attribution (cited documents the reply's
sentences draw on, `bot.evaluation.answers`) with the documents cited per citing reply and the answered replies that
cite nothing beside them, abstention F1 with the false-abstention rate beside it, the unsupported-claim rate
(answered items whose reply claims what its cited documents lack), how many generated replies were replaced after a
failed claim check, and latency p95 (with attribution, per reply kind). `generate` loads the embedded SmolLM2 and
takes seconds per item; `--limit` keeps it short.

    PYTHONPATH=.:benchmarks .venv/bin/python benchmarks/answer_modes.py covid_faq_paraphrases --limit 40
    PYTHONPATH=.:benchmarks .venv/bin/python benchmarks/answer_modes.py crosswoz_zh --modes compose --limit 300

`--embedder e5` answers an English set from its e5 index; `--retrieval question_headings=false` with hybrid
retrieval other than the shipped (the variants of `retrieval_ceiling.py`).
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from retrieval_ceiling import hybrid_settings, runtime_with
from rewrite_recall import DATA

from bot.config import KnowledgeSettings
from bot.evaluation.answers import ANSWER_ROLES, answer_all, document_texts, summarise
from bot.evaluation.questions import load_questions

COLUMNS = (
    "rougeL",
    "token_f1",
    "citation_precision",
    "citation_attribution",
    "abstain_f1",
    "false_abstain_rate",
    "unsupported_claim_rate",
)


async def evaluate(
    name: str, mode: str, limit: int | None, embedder: str | None = None, retrieval: str = "shipped"
) -> dict[str, Any]:
    runtime = runtime_with(name, embedder, hybrid_settings(retrieval))
    runtime.settings.knowledge.top_k = KnowledgeSettings().top_k  # as deskbot answers (open_runtime ranks deeper)
    runtime.settings.answer.mode = mode  # type: ignore[assignment]
    engine = runtime.engine(roles=ANSWER_ROLES, given=frozenset({"history"}))
    await engine.warm_up()
    questions = load_questions(DATA / name / "dev.jsonl", limit)
    results = await answer_all(engine, questions, None, document_texts(runtime.knowledge(sync=False).store))
    citing = [len(set(result.cited)) for result in results if result.cited]
    return {**summarise(results), "cited_per_reply": sum(citing) / len(citing) if citing else 0.0}


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("datasets", nargs="+")
    parser.add_argument("--modes", nargs="+", default=["compose", "generate"], choices=["compose", "generate"])
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--embedder", choices=["minilm", "e5"], help="default: the set's own (MiniLM for English)")
    parser.add_argument("--retrieval", default="shipped", help="hybrid variant, as in retrieval_ceiling.py")
    args = parser.parse_args()
    header = [
        "dev set",
        "mode",
        "n",
        *COLUMNS,
        "cited per reply",
        "citing nothing",
        "corrected",
        "p95 ms",
        "by kind: attribution / p95 ms",
    ]
    print("| " + " | ".join(header) + " |")
    print("|" + " --- |" * len(header))
    for name in args.datasets:
        for mode in args.modes:
            summary = asyncio.run(evaluate(name, mode, args.limit, args.embedder, args.retrieval))
            by_kind = ", ".join(
                f"{kind} {row['n']}: {_number(row['citation_attribution'])} / {row['latency_ms_p95']:.0f}"
                for kind, row in summary["by_kind"].items()
            )
            cells = [name, mode, summary["n"], *(_number(summary[key]) for key in COLUMNS)]
            cells += [
                f"{summary['cited_per_reply']:.2f}",
                summary["citing_nothing"],
                summary["corrected"],
                f"{summary['latency_ms_p95']:.0f}",
                by_kind,
            ]
            print("| " + " | ".join(str(cell) for cell in cells) + " |", flush=True)


if __name__ == "__main__":
    main()
