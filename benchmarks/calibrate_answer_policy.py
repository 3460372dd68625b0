"""Calibrate the answer policy's thresholds on dev sets' `answerable` labels.

For every dev item it runs the pipeline's `rewrite` and `retrieve` stages (item history in `turn.history`, as
`deskbot eval` does, `knowledge.top_k` hits) and records what the answer stage decides on: the best hit's score,
whether it is an FAQ entry (and a relevant one), the topic-word coverage of the top passages and how many retrievers
(dense, BM25) rank the best hit first. Then:

- it sweeps `answer.min_score` x `answer.min_coverage` x `answer.agreement_credit` for abstention F1, "should not
  answer" being the positive class, and reports the best values in-sample, the configured values, the old policy
  (no agreement credit) and a cross-validated F1: stratified k-fold, the thresholds chosen on k-1 folds by the same
  sweep and applied to the held-out fold, repeated over several shuffles;
- for dev sets without unanswerable items it reports how often the configured policy abstains (all false abstentions);
- it sweeps `answer.faq_min_score` (verbatim FAQ answer at or above it) for the precision of verbatim answers (the
  FAQ entry is one of the item's relevant documents).

    .venv/bin/python benchmarks/calibrate_answer_policy.py mtrag_cloud_govt covid_faq_paraphrases dstc11_track5

Per-item rows are cached in benchmarks/results/calibration_<name>.json; `--cached` sweeps those without retrieving.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
from collections.abc import Sequence
from dataclasses import astuple, dataclass

import numpy as np
from rewrite_recall import DATA, RESULTS, open_runtime

from bot.config import AnswerSettings, KnowledgeSettings
from bot.evaluation.metrics import abstention_scores
from bot.evaluation.questions import load_questions
from bot.stages.answer import AnswerStage, agreeing_retrievers
from bot.stages.faq import FaqStage, is_faq_entry
from bot.stages.retrieve import RetrieveStage
from bot.stages.rewrite import RewriteStage
from bot.types import Message, Reply, Turn

TOLERANCE = 1e-9  # as in AnswerStage.grounded
MIN_SCORES = [round(0.20 + 0.02 * step, 2) for step in range(16)]
MIN_COVERAGES = [round(0.05 * step, 2) for step in range(21)]
CREDITS = [round(0.05 * step, 2) for step in range(11)]


@dataclass(frozen=True)
class Row:
    answerable: bool
    score: float
    is_faq: bool
    relevant: bool
    coverage: float
    agreeing: int


@dataclass(frozen=True)
class Policy:
    min_score: float
    min_coverage: float
    agreement_credit: float


async def decision_rows(name: str) -> list[Row]:
    """One row per dev item with what the answer policy decides on; checks that `abstains` agrees with the stage."""
    runtime = open_runtime(name)
    services = runtime.services()
    settings = services.settings
    top_k = KnowledgeSettings().top_k  # the default, as deskbot uses it (open_runtime retrieves more for recall)
    chain = [RewriteStage.build(services), RetrieveStage(runtime.retriever(), top_k)]
    answer = AnswerStage.build(services)
    faq = FaqStage.build(services)
    configured = configured_policy(settings.answer)
    rows = []

    async def end(turn: Turn) -> Reply:
        return Reply(text="")

    for q in load_questions(DATA / name / "dev.jsonl"):
        turn = Turn(message=Message(text=q.question), history=list(q.history))
        await chain[0](turn, lambda t: chain[1](t, end))
        top = turn.hits[0] if turn.hits else None
        row = Row(
            answerable=q.answerable,
            score=top.score if top else -1.0,
            is_faq=bool(top and is_faq_entry(top)),
            relevant=bool(top and top.chunk.document_id in q.relevant_ids),
            coverage=answer.coverage(q.question, turn.hits),
            agreeing=agreeing_retrievers(turn.hits),
        )
        stage_abstains = faq.faq_answer(turn.hits) is None and (
            not answer.select_passages(turn.hits) or not answer.grounded(q.question, turn.hits)
        )
        assert stage_abstains == bool(abstains([row], configured, settings.answer.faq_min_score)[0]), (q.id, row)
        rows.append(row)
    return rows


def configured_policy(answer: AnswerSettings) -> Policy:
    return Policy(answer.min_score, answer.min_coverage, answer.agreement_credit)


def abstains(rows: Sequence[Row], policy: Policy, faq_min_score: float) -> np.ndarray:
    """What AnswerStage decides for each row: a confident FAQ match is answered verbatim; otherwise it abstains when
    the best score is below `min_score` or coverage is below `min_coverage - agreement_credit * agreeing`."""
    score = np.array([row.score for row in rows])
    coverage = np.array([row.coverage for row in rows])
    agreeing = np.array([row.agreeing for row in rows])
    faq = np.array([row.is_faq for row in rows]) & (score >= faq_min_score)
    required = policy.min_coverage - policy.agreement_credit * agreeing - TOLERANCE
    return ~faq & ((score < policy.min_score) | (coverage < required))


def scores(rows: Sequence[Row], policy: Policy, faq_min_score: float) -> tuple[float, float, float]:
    return abstention_scores([not row.answerable for row in rows], list(abstains(rows, policy, faq_min_score)))


def best_policy(rows: Sequence[Row], faq_min_score: float, credits: Sequence[float] = CREDITS) -> Policy:
    """The grid point with the highest abstention F1 (the first one in grid order on ties)."""
    best, best_f1 = Policy(0.0, 0.0, 0.0), -1.0
    for min_score in MIN_SCORES:
        for min_coverage in MIN_COVERAGES:
            for credit in credits:
                policy = Policy(min_score, min_coverage, credit)
                f1 = scores(rows, policy, faq_min_score)[2]
                if f1 > best_f1 + 1e-12:
                    best, best_f1 = policy, f1
    return best


def cross_validated(
    rows: Sequence[Row], faq_min_score: float, credits: Sequence[float], folds: int, repeats: int
) -> tuple[float, float, float]:
    """Mean (P, R, F1) over `repeats` shuffles of stratified `folds`-fold cross-validation."""
    results = []
    for seed in range(repeats):
        rng = random.Random(seed)
        fold_of = [0] * len(rows)
        for label in (True, False):
            members = [i for i, row in enumerate(rows) if row.answerable is label]
            rng.shuffle(members)
            for position, index in enumerate(members):
                fold_of[index] = position % folds
        predicted = np.zeros(len(rows), dtype=bool)
        for fold in range(folds):
            train = [row for row, f in zip(rows, fold_of, strict=True) if f != fold]
            held_out = [i for i, f in enumerate(fold_of) if f == fold]
            policy = best_policy(train, faq_min_score, credits)
            predicted[held_out] = abstains([rows[i] for i in held_out], policy, faq_min_score)
        results.append(abstention_scores([not row.answerable for row in rows], list(predicted)))
    precision, recall, f1 = np.mean(results, axis=0)
    return float(precision), float(recall), float(f1)


def describe(policy: Policy) -> str:
    return (
        f"min_score {policy.min_score:.2f} min_coverage {policy.min_coverage:.2f} "
        f"agreement_credit {policy.agreement_credit:.2f}"
    )


def prf(values: tuple[float, float, float]) -> str:
    return "P {:.3f} R {:.3f} F1 {:.3f}".format(*values)


def report(name: str, rows: list[Row], folds: int, repeats: int) -> None:
    defaults = AnswerSettings()
    configured = configured_policy(defaults)
    faq_min_score = defaults.faq_min_score
    unanswerable = sum(not row.answerable for row in rows)
    print(f"== {name}: {len(rows)} items, {unanswerable} unanswerable")
    rate = float(np.mean(abstains(rows, configured, faq_min_score)))
    old = Policy(configured.min_score, 0.60, 0.0)
    old_rate = float(np.mean(abstains(rows, old, faq_min_score)))
    print(f"configured ({describe(configured)}): abstains on {rate:.3f} of items (old policy {old_rate:.3f})")
    if unanswerable:
        print(f"  configured: {prf(scores(rows, configured, faq_min_score))}")
        print(f"  old policy ({describe(old)}): {prf(scores(rows, old, faq_min_score))}")
        for label, credits in (("with agreement credit", CREDITS), ("coverage only", [0.0])):
            best = best_policy(rows, faq_min_score, credits)
            cv = cross_validated(rows, faq_min_score, credits, folds, repeats)
            print(f"  best in-sample, {label} ({describe(best)}): {prf(scores(rows, best, faq_min_score))}")
            print(f"  {folds}-fold cross-validated x{repeats}, {label}: {prf(cv)}")
    faq = [(row.score, row.relevant) for row in rows if row.is_faq]
    for step in range(50, 100, 5) if faq else ():
        threshold = step / 100
        chosen = [relevant for score, relevant in faq if score >= threshold]
        if chosen:
            print(
                f"  faq_min_score {threshold:.2f}: {len(chosen)}/{len(rows)} verbatim, "
                f"precision {sum(chosen) / len(chosen):.3f}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("datasets", nargs="+")
    parser.add_argument("--cached", action="store_true", help="Sweep the cached rows instead of retrieving again.")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    for name in args.datasets:
        cache = RESULTS / f"calibration_{name}.json"
        if args.cached and cache.exists():
            rows = [Row(*values) for values in json.loads(cache.read_text())]
        else:
            rows = asyncio.run(decision_rows(name))
            cache.write_text(json.dumps([astuple(row) for row in rows]))
        report(name, rows, args.folds, args.repeats)


if __name__ == "__main__":
    main()
