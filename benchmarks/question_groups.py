"""How well the console groups unanswered questions (`bot.question_groups`), by threshold, on covid_faq_paraphrases.

Each dev question stands for an unanswered one; questions whose first relevant FAQ entry is the same belong to one
true group (98 questions, 37 groups, 89 same-group pairs). For each threshold the questions are grouped with MiniLM
(the default embedder) and scored by pairs: precision (of the pairs put together, how many belong together), recall
(of the pairs that belong together, how many were put together) and F1. Run: `python benchmarks/question_groups.py`.
"""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.question_groups import UnansweredQuestion, group_questions
from knowledge.embedders.sentence_transformer import SentenceTransformerEmbedder

DEV = Path(__file__).resolve().parents[2] / "shared" / "data" / "covid_faq_paraphrases" / "dev.jsonl"
THRESHOLDS = (0.5, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85)


def main() -> None:
    items = [json.loads(line) for line in DEV.read_text().splitlines() if line.strip()]
    items = [item for item in items if item["relevant_ids"]]
    truth = {item["id"]: item["relevant_ids"][0] for item in items}
    start = datetime(2026, 1, 1, tzinfo=UTC)
    questions = [
        UnansweredQuestion(item["question"], item["id"], n, start + timedelta(minutes=n), "abstained")
        for n, item in enumerate(items)
    ]
    pairs = [(a.conversation_id, b.conversation_id) for a, b in itertools.combinations(questions, 2)]
    together = {pair for pair in pairs if truth[pair[0]] == truth[pair[1]]}
    print(f"{len(questions)} questions, {len(set(truth.values()))} true groups, {len(together)} same-group pairs")
    embedder = SentenceTransformerEmbedder()
    print("| threshold | groups | pair precision | pair recall | F1 |\n| --- | --- | --- | --- | --- |")
    for threshold in THRESHOLDS:
        groups = group_questions(questions, embedder.embed_documents, threshold)
        label = {question.conversation_id: n for n, group in enumerate(groups) for question in group.questions}
        grouped = {pair for pair in pairs if label[pair[0]] == label[pair[1]]}
        hits = len(grouped & together)
        precision = hits / len(grouped) if grouped else 1.0
        recall = hits / len(together)
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        print(f"| {threshold:.2f} | {len(groups)} | {precision:.3f} | {recall:.3f} | {f1:.3f} |")


if __name__ == "__main__":
    main()
