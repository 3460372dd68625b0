"""Metrics shared by `deskbot eval` and the fine-tuning reports.

Ranking metrics are document-level (DESIGN.md): documents are ranked by their best chunk and count once.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

from knowledge.text import has_han, words


def recall_at_k(ranked: Sequence[str], relevant: Sequence[str], k: int) -> float:
    if not relevant:
        return 0.0
    return len(set(ranked[:k]) & set(relevant)) / len(set(relevant))


def mrr_at_k(ranked: Sequence[str], relevant: Sequence[str], k: int = 10) -> float:
    wanted = set(relevant)
    for rank, doc_id in enumerate(ranked[:k], start=1):
        if doc_id in wanted:
            return 1.0 / rank
    return 0.0


def ndcg_at_k(ranked: Sequence[str], relevant: Sequence[str], k: int = 10) -> float:
    wanted = set(relevant)
    if not wanted:
        return 0.0
    dcg = sum(1.0 / math.log2(rank + 1) for rank, doc in enumerate(ranked[:k], start=1) if doc in wanted)
    ideal = sum(1.0 / math.log2(rank + 1) for rank in range(1, min(len(wanted), k) + 1))
    return dcg / ideal


def unique_in_order(ids: Sequence[str]) -> list[str]:
    """Document ids ranked by their best chunk: first occurrence wins."""
    seen: set[str] = set()
    return [i for i in ids if not (i in seen or seen.add(i))]  # type: ignore[func-returns-value]


def percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100.0
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


class _TextWords:
    """rouge-score's tokenizer interface over `knowledge.text.words` (its own drops every non-ASCII character)."""

    def tokenize(self, text: str) -> list[str]:
        return words(text.lower())


def rouge_l(predictions: Sequence[str], references: Sequence[str]) -> float:
    """Mean ROUGE-L F1 (rouge-score, with stemming); pairs with Chinese text are compared word by word."""
    from rouge_score import rouge_scorer

    if not predictions:
        return 0.0
    english = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)
    chinese = rouge_scorer.RougeScorer(["rougeL"], tokenizer=_TextWords())
    scores: list[float] = []
    for pred, ref in zip(predictions, references, strict=True):
        scorer = chinese if has_han(pred) or has_han(ref) else english
        scores.append(scorer.score(ref, pred)["rougeL"].fmeasure)
    return sum(scores) / len(scores)


def token_f1(predictions: Sequence[str], references: Sequence[str]) -> float:
    """Mean bag-of-words F1 between each prediction and its reference (SQuAD's answer F1), over
    `knowledge.text.words`, so Chinese is compared word by word."""
    if not predictions:
        return 0.0
    scores = []
    for pred, ref in zip(predictions, references, strict=True):
        predicted, wanted = Counter(words(pred.lower())), Counter(words(ref.lower()))
        common = sum((predicted & wanted).values())
        if common == 0:
            scores.append(0.0)
            continue
        precision, recall = common / sum(predicted.values()), common / sum(wanted.values())
        scores.append(2 * precision * recall / (precision + recall))
    return sum(scores) / len(scores)


def bleu(predictions: Sequence[str], references: Sequence[str]) -> float:
    """Corpus BLEU (sacrebleu), 0-100; with sacrebleu's Chinese tokenizer when the references are Chinese."""
    import sacrebleu

    if not predictions:
        return 0.0
    tokenize = "zh" if any(has_han(reference) for reference in references) else "13a"
    return float(sacrebleu.corpus_bleu(list(predictions), [list(references)], tokenize=tokenize).score)


def abstention_scores(should_abstain: Sequence[bool], abstained: Sequence[bool]) -> tuple[float, float, float]:
    """(precision, recall, F1) with "should not answer" as the positive class."""
    pairs = list(zip(should_abstain, abstained, strict=True))
    true_positive = sum(1 for wanted, did in pairs if wanted and did)
    predicted = sum(1 for _, did in pairs if did)
    actual = sum(1 for wanted, _ in pairs if wanted)
    precision = true_positive / predicted if predicted else 0.0
    recall = true_positive / actual if actual else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def citation_precision(cited: Sequence[Sequence[str]], relevant: Sequence[Sequence[str]]) -> float:
    """Share of all cited documents that are relevant (micro-averaged over items that cite something)."""
    total = sum(len(set(ids)) for ids in cited)
    hits = sum(len(set(ids) & set(wanted)) for ids, wanted in zip(cited, relevant, strict=True))
    return hits / total if total else 0.0
