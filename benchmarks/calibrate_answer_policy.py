"""Calibrate the answer policy's thresholds on dev sets' `answerable` labels.

For every dev item it runs the pipeline's `rewrite` and `retrieve` stages (item history in `turn.history`, as
`deskbot eval` does) and records the best hit. Then it sweeps:

- `answer.min_score` (abstain below it) for abstention F1, "should not answer" being the positive class;
- `answer.faq_min_score` (verbatim FAQ answer at or above it) for the precision of verbatim answers (the FAQ entry is
  one of the item's relevant documents).

    .venv/bin/python benchmarks/calibrate_answer_policy.py mtrag_cloud_govt covid_faq_paraphrases
"""

from __future__ import annotations

import argparse
import asyncio
import json

from rewrite_recall import DATA, RESULTS, open_runtime

from bot.evaluation.metrics import abstention_scores
from bot.evaluation.questions import load_questions
from bot.stages.answer import AnswerStage, is_faq_entry
from bot.stages.retrieve import RetrieveStage
from bot.stages.rewrite import RewriteStage
from bot.types import Message, Reply, Turn


async def best_hits(name: str) -> list[tuple[bool, float, bool, bool, float]]:
    """(answerable, best score, best is an FAQ entry, best is relevant, topic-word coverage) per dev item."""
    runtime = open_runtime(name)
    services = runtime.services()
    chain = [RewriteStage.build(services), RetrieveStage(runtime.retriever(), 4)]
    answer = AnswerStage.build(services)
    rows = []

    async def end(turn: Turn) -> Reply:
        return Reply(text="")

    for q in load_questions(DATA / name / "dev.jsonl"):
        turn = Turn(message=Message(text=q.question), history=list(q.history))
        await chain[0](turn, lambda t: chain[1](t, end))
        top = turn.hits[0] if turn.hits else None
        rows.append(
            (
                q.answerable,
                top.score if top else -1.0,
                bool(top and is_faq_entry(top)),
                bool(top and top.chunk.document_id in q.relevant_ids),
                answer.coverage(q.question, turn.hits),
            )
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("datasets", nargs="+")
    args = parser.parse_args()
    for name in args.datasets:
        rows = asyncio.run(best_hits(name))
        print(f"== {name}: {len(rows)} items, {sum(not r[0] for r in rows)} unanswerable")
        sweep = []
        for step in range(20, 70, 2):
            for cover in range(0, 21):
                threshold, min_cover = step / 100, cover / 20
                abstained = [s < threshold or c < min_cover for _, s, _, _, c in rows]
                p, r, f1 = abstention_scores([not a for a, *_ in rows], abstained)
                sweep.append((threshold, min_cover, p, r, f1))
        if any(not a for a, *_ in rows):
            best = max(sweep, key=lambda row: row[4])
            print("best min_score {:.2f} min_coverage {:.2f}: abstain P {:.3f} R {:.3f} F1 {:.3f}".format(*best))
            score_only = max((row for row in sweep if row[1] == 0), key=lambda row: row[4])
            print(
                "score only: min_score {:.2f}: abstain P {:.3f} R {:.3f} F1 {:.3f}".format(
                    *score_only[:1], *score_only[2:]
                )
            )
        faq = [(s, rel) for _, s, is_faq, rel, _ in rows if is_faq]
        if faq:
            for step in range(50, 100, 5):
                threshold = step / 100
                chosen = [rel for s, rel in faq if s >= threshold]
                if chosen:
                    print(
                        f"  faq_min_score {threshold:.2f}: {len(chosen)}/{len(rows)} verbatim, "
                        f"precision {sum(chosen) / len(chosen):.3f}"
                    )
        (RESULTS / f"calibration_{name}.json").write_text(json.dumps(rows))


if __name__ == "__main__":
    main()
