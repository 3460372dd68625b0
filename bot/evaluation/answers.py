"""Answer evaluation (`deskbot eval answers`): replays each question through the answer pipeline and scores the replies.

The pipeline is the configured one minus the stages that police users or talk to the conversation store (roles
guard, command, memory): each item's own history is handed to the engine instead. Definitions (DESIGN.md):
abstention metrics take "should not answer" (`answerable` false) as the positive class and an abstained or handed-off
reply as a positive prediction; ROUGE-L, BLEU and citation precision are over answerable items.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from bot.engine import Engine, StageRole
from bot.evaluation.metrics import abstention_scores, bleu, citation_precision, percentile, rouge_l
from bot.evaluation.questions import Question
from bot.types import Message, ReplyKind

log = logging.getLogger(__name__)

ANSWER_ROLES: frozenset[StageRole] = frozenset({"query", "retrieval", "check", "answer", "custom"})
"""The stages an answer evaluation runs: all but guards, commands and the conversation store's."""
KEYS = (
    "n",
    "rougeL",
    "bleu",
    "abstain_precision",
    "abstain_recall",
    "abstain_f1",
    "citation_precision",
    "ttft_ms_p50",
    "latency_ms_p50",
    "latency_ms_p95",
)


@runtime_checkable
class ScoresText(Protocol):
    def perplexity(self, texts: Sequence[str]) -> float:
        """exp(mean token negative log-likelihood) of the model over `texts`."""
        ...


@dataclass(frozen=True)
class AnswerResult:
    question: Question
    text: str
    kind: ReplyKind
    abstained: bool
    cited: tuple[str, ...]
    latency_ms: float
    ttft_ms: float


async def answer_all(
    engine: Engine, questions: Sequence[Question], progress: Callable[[int, int], None] | None = None
) -> list[AnswerResult]:
    results = []
    for number, question in enumerate(questions, start=1):
        message = Message(text=question.question, user_id="eval", conversation_id=f"eval-{question.id}", channel="eval")
        reply = await engine.handle(message, history=question.history)
        results.append(
            AnswerResult(
                question=question,
                text=reply.text,
                kind=reply.kind,
                abstained=reply.abstained or reply.handoff,
                cited=tuple(citation.id for citation in reply.citations),
                latency_ms=reply.latency_ms,
                ttft_ms=reply.ttft_ms if reply.ttft_ms is not None else reply.latency_ms,
            )
        )
        if progress is not None:
            progress(number, len(questions))
    return results


def summarise(results: Sequence[AnswerResult]) -> dict[str, Any]:
    answerable = [r for r in results if r.question.answerable]
    precision, recall, f1 = abstention_scores(
        [not r.question.answerable for r in results], [r.abstained for r in results]
    )
    answered = [r for r in answerable if r.cited]
    summary: dict[str, Any] = {
        "n": len(results),
        "rougeL": rouge_l([r.text for r in answerable], [r.question.answer for r in answerable]),
        "bleu": bleu([r.text for r in answerable], [r.question.answer for r in answerable]),
        "abstain_precision": precision,
        "abstain_recall": recall,
        "abstain_f1": f1,
        "citation_precision": citation_precision(
            [r.cited for r in answered], [r.question.relevant_ids for r in answered]
        ),
        "ttft_ms_p50": percentile([r.ttft_ms for r in results], 50),
        "latency_ms_p50": percentile([r.latency_ms for r in results], 50),
        "latency_ms_p95": percentile([r.latency_ms for r in results], 95),
    }
    return {key: round(value, 4) if isinstance(value, float) else value for key, value in summary.items()}


def held_out_perplexity(llm: object, questions: Sequence[Question], limit: int = 32) -> float | None:
    """Perplexity of the model on the reference answers (text it was not tuned on), when the backend can score text."""
    if not isinstance(llm, ScoresText):
        return None
    texts = [q.answer for q in questions if q.answer.strip()][:limit]
    if not texts:
        return None
    value = llm.perplexity(texts)
    return round(value, 3) if math.isfinite(value) else None
