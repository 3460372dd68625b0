"""Answer evaluation (`deskbot eval answers`): replays each question through the answer pipeline and scores the replies.

The pipeline is the configured one minus the stages that police users or talk to the conversation store (roles
guard, command, memory): each item's own history is handed to the engine instead. Definitions (DESIGN.md):
abstention metrics take "should not answer" (`answerable` false) as the positive class and an abstained or handed-off
reply as a positive prediction; ROUGE-L, BLEU and citation precision are over answerable items.

Citation precision asks whether the cited documents are the ones the item's labels call relevant (did the bot answer
from the right document); citation attribution whether they are the ones the reply came from: the share of cited
documents that some sentence of the reply draws on (`bot.stages.passages.sources` over the cited documents' text:
each sentence's best-supporting document - the one holding it verbatim, as a composed or FAQ reply's sentences are,
else the one holding the largest share of its topic words, at least `MIN_SUPPORT`). A cited document no sentence
draws on counts against it. It is over every reply that cites something, answerable or not.

Beside those: token F1 (bag-of-words overlap with the reference), the false-abstention rate (answerable items
declined: read abstention F1 against it), and the unsupported-claim rate - the share of answered items whose reply
makes a checkable claim (`bot.claims`: a number, code, name, link or yes/no) that the documents it cites do not
support, an invented fact. Each is also broken down by reply kind (`by_kind`: faq, composed, answer = generated,
abstain, ...).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from bot.claims import unsupported_claims
from bot.engine import Engine, StageRole
from bot.evaluation.metrics import abstention_scores, bleu, citation_precision, percentile, rouge_l, token_f1
from bot.evaluation.questions import Question
from bot.stages.passages import sources
from bot.types import Message, ReplyKind
from knowledge.store import KnowledgeStore

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
    "citation_attribution",
    "ttft_ms_p50",
    "latency_ms_p50",
    "latency_ms_p95",
    "token_f1",
    "false_abstain_rate",
    "unsupported_claim_rate",
    "corrected",
    "by_kind",
)
Evidence = Callable[[str], str]
"""The text of a knowledge document by its id ("" when unknown): what a reply's citations point at."""


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
    unsupported: tuple[str, ...] = ()
    """Checkable claims of the reply that its cited documents do not support."""
    corrected: bool = False
    attributed: tuple[str, ...] | None = None
    """The cited documents the reply's sentences draw on (None when no document text was at hand to tell)."""


def document_texts(store: KnowledgeStore) -> Evidence:
    """A document's text (its chunks' titles, sections and texts) by id: what the claim check reads."""
    texts: dict[str, list[str]] = {}
    for chunk in store.chunk_rows().values():
        texts.setdefault(chunk.document_id, []).append(chunk.embedding_text())
    return lambda doc_id: " ".join(texts.get(doc_id, ()))


def unsupported_in(text: str, cited: Sequence[str], evidence: Evidence | None, question: str) -> tuple[str, ...]:
    """The reply's claims its cited documents lack (none when nothing is cited or no evidence is at hand)."""
    if evidence is None or not cited:
        return ()
    return tuple(claim.value for claim in unsupported_claims(text, [evidence(doc) for doc in cited], [question]))


def attributed_in(text: str, cited: Sequence[str], evidence: Evidence | None) -> tuple[str, ...] | None:
    """The cited documents that some sentence of the reply draws on (`sources`); None without evidence."""
    if evidence is None:
        return None
    return tuple(cited[index] for index in sources(text, [evidence(doc) for doc in cited]))


def citation_attribution(results: Sequence[AnswerResult]) -> float | None:
    """Share of the documents cited by `results` that their replies draw on (micro-averaged over the replies that
    cite something and were checked); None when none was."""
    checked = [r for r in results if r.cited and r.attributed is not None]
    if not checked:
        return None
    return citation_precision([r.cited for r in checked], [r.attributed or () for r in checked])


async def answer_all(
    engine: Engine,
    questions: Sequence[Question],
    progress: Callable[[int, int], None] | None = None,
    evidence: Evidence | None = None,
) -> list[AnswerResult]:
    results = []
    for number, question in enumerate(questions, start=1):
        message = Message(text=question.question, user_id="eval", conversation_id=f"eval-{question.id}", channel="eval")
        reply = await engine.handle(message, history=question.history)
        cited = tuple(citation.id for citation in reply.citations)
        results.append(
            AnswerResult(
                question=question,
                text=reply.text,
                kind=reply.kind,
                abstained=reply.abstained or reply.handoff,
                cited=cited,
                latency_ms=reply.latency_ms,
                ttft_ms=reply.ttft_ms if reply.ttft_ms is not None else reply.latency_ms,
                unsupported=unsupported_in(reply.text, cited, evidence, question.question),
                corrected=reply.corrected,
                attributed=attributed_in(reply.text, cited, evidence),
            )
        )
        if progress is not None:
            progress(number, len(questions))
    return results


def text_scores(results: Sequence[AnswerResult]) -> dict[str, float]:
    """ROUGE-L, token F1 and the unsupported-claim rate of `results` (answerable items for the first two)."""
    answerable = [r for r in results if r.question.answerable]
    answered = [r for r in results if not r.abstained]
    predictions, references = [r.text for r in answerable], [r.question.answer for r in answerable]
    return {
        "rougeL": rouge_l(predictions, references),
        "token_f1": token_f1(predictions, references),
        "unsupported_claim_rate": sum(1 for r in answered if r.unsupported) / len(answered) if answered else 0.0,
    }


def summarise(results: Sequence[AnswerResult]) -> dict[str, Any]:
    answerable = [r for r in results if r.question.answerable]
    precision, recall, f1 = abstention_scores(
        [not r.question.answerable for r in results], [r.abstained for r in results]
    )
    answered = [r for r in answerable if r.cited]
    scores = text_scores(results)
    summary: dict[str, Any] = {
        "n": len(results),
        "rougeL": scores["rougeL"],
        "bleu": bleu([r.text for r in answerable], [r.question.answer for r in answerable]),
        "abstain_precision": precision,
        "abstain_recall": recall,
        "abstain_f1": f1,
        "citation_precision": citation_precision(
            [r.cited for r in answered], [r.question.relevant_ids for r in answered]
        ),
        "citation_attribution": citation_attribution(results),
        "ttft_ms_p50": percentile([r.ttft_ms for r in results], 50),
        "latency_ms_p50": percentile([r.latency_ms for r in results], 50),
        "latency_ms_p95": percentile([r.latency_ms for r in results], 95),
        "token_f1": scores["token_f1"],
        "false_abstain_rate": sum(1 for r in answerable if r.abstained) / len(answerable) if answerable else 0.0,
        "unsupported_claim_rate": scores["unsupported_claim_rate"],
        "corrected": sum(1 for r in results if r.corrected),
        "citing_nothing": sum(1 for r in results if not r.cited and not r.abstained),
        "by_kind": {kind: by_kind(results, kind) for kind in sorted({r.kind for r in results})},
    }
    return {key: round(value, 4) if isinstance(value, float) else value for key, value in summary.items()}


def by_kind(results: Sequence[AnswerResult], kind: str) -> dict[str, float | int | None]:
    """Counts, text scores and citation attribution of the replies of one kind, with their latency p95."""
    of_kind = [r for r in results if r.kind == kind]
    scores = text_scores(of_kind)
    attribution = citation_attribution(of_kind)
    return {
        "n": len(of_kind),
        **{name: round(value, 4) for name, value in scores.items()},
        "citation_attribution": round(attribution, 4) if attribution is not None else None,
        "latency_ms_p95": round(percentile([r.latency_ms for r in of_kind], 95), 1),
    }


def held_out_perplexity(llm: object, questions: Sequence[Question], limit: int = 32) -> float | None:
    """Perplexity of the model on the reference answers (text it was not tuned on), when the backend can score text."""
    if not isinstance(llm, ScoresText):
        return None
    texts = [q.answer for q in questions if q.answer.strip()][:limit]
    if not texts:
        return None
    value = llm.perplexity(texts)
    return round(value, 3) if math.isfinite(value) else None
