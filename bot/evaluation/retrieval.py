"""Retrieval evaluation: document-level recall@1/5/10, MRR@10, nDCG@10 and latency over a questions file.

Every item goes through the chat pipeline's own query path: the configured stages whose role is `query` or
`retrieval`, up to and including the first retrieval stage, so a query-rewrite stage placed before `retrieve` is used
exactly as in chat. The item's history is given to the engine (what a memory stage would have loaded). Without a
query stage the query is the last user turn alone (the history is not used).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace

from bot.engine import Engine, Next, StageRole
from bot.errors import ConfigError
from bot.evaluation.metrics import mrr_at_k, ndcg_at_k, percentile, recall_at_k, unique_in_order
from bot.evaluation.questions import Question, QuestionFileError, unknown_relevant_ids
from bot.runtime import Runtime
from bot.types import Message, Reply, Turn

QUERY_ROLES: frozenset[StageRole] = frozenset({"query", "retrieval"})
"""Stages that shape the query and retrieve: not guards, commands or the conversation store."""

RANKING_DEPTH = 10


@dataclass(frozen=True)
class RetrievalReport:
    n: int
    recall_at_1: float
    recall_at_5: float
    recall_at_10: float
    mrr_at_10: float
    ndcg_at_10: float
    latency_ms_p50: float
    latency_ms_p95: float

    def as_json(self) -> dict[str, float | int]:
        """The `deskbot eval retrieval --json` object (DESIGN.md): exactly these keys."""
        return {
            "n": self.n,
            "recall@1": round(self.recall_at_1, 4),
            "recall@5": round(self.recall_at_5, 4),
            "recall@10": round(self.recall_at_10, 4),
            "mrr@10": round(self.mrr_at_10, 4),
            "ndcg@10": round(self.ndcg_at_10, 4),
            "latency_ms_p50": round(self.latency_ms_p50, 2),
            "latency_ms_p95": round(self.latency_ms_p95, 2),
        }


@dataclass(frozen=True)
class RankedItem:
    question: Question
    query: str
    ranked_ids: tuple[str, ...]
    latency_ms: float


class _CaptureRetrieval:
    """Ends the chain where `answer` would start, keeping the query and hits the earlier stages produced."""

    def __init__(self) -> None:
        self.query = ""
        self.document_ids: list[str] = []

    async def __call__(self, turn: Turn, call_next: Next) -> Reply:
        self.query = turn.query or turn.message.text
        self.document_ids = [hit.chunk.document_id for hit in turn.hits]
        return Reply(text="", kind="silent", conversation_id=turn.message.conversation_id)


class RetrievalEvaluator:
    def __init__(self, runtime: Runtime, depth: int = RANKING_DEPTH) -> None:
        names = runtime.stage_names(QUERY_ROLES)
        retrieval = [i for i, name in enumerate(names) if runtime.stage_info(name).role == "retrieval"]
        if not retrieval:
            raise ConfigError("pipeline.stages has no retrieval stage ('retrieve'); there is no retrieval to evaluate")
        names = names[: retrieval[0] + 1]
        # Enough chunks to rank `depth` distinct documents even when each contributes `per_document` chunks; in a
        # copy of the settings, so the runtime's own stay as configured.
        knowledge = runtime.settings.knowledge
        settings = runtime.settings.model_copy(
            update={"knowledge": knowledge.model_copy(update={"top_k": depth * knowledge.per_document})}
        )
        services = replace(runtime.services(), settings=settings)
        self.depth = depth
        self.runtime = runtime
        self._capture = _CaptureRetrieval()
        self._engine = Engine(
            [*runtime.build_stages(names, services), self._capture], [*names, "capture"], frozenset({"history"})
        )

    def check_questions(self, questions: Sequence[Question]) -> None:
        """Refuse a questions file whose relevant ids the knowledge base lacks (a sign of the wrong --kb)."""
        known = set(self.runtime.knowledge().store.document_ids)
        unknown = unknown_relevant_ids([q for q in questions if q.answerable], known)
        if unknown:
            shown = ", ".join(unknown[:5]) + (f" and {len(unknown) - 5} more" if len(unknown) > 5 else "")
            raise QuestionFileError(
                f"{len(unknown)} relevant id(s) are not in the knowledge base ({shown}); is --kb the right folder?"
            )

    async def rank(self, question: Question) -> RankedItem:
        message = Message(text=question.question, user_id="eval", conversation_id=question.dialogue_id, channel="eval")
        started = time.perf_counter()
        await self._engine.handle(message, history=question.history)
        latency_ms = (time.perf_counter() - started) * 1000.0
        ranked = unique_in_order(self._capture.document_ids)[: self.depth]
        return RankedItem(question, self._capture.query, tuple(ranked), latency_ms)

    def evaluate(self, questions: Sequence[Question]) -> RetrievalReport:
        answerable = [q for q in questions if q.answerable and q.relevant_ids]
        self.check_questions(answerable)

        async def run_all() -> list[RankedItem]:
            return [await self.rank(question) for question in answerable]

        return summarise(asyncio.run(run_all()))


def summarise(items: Sequence[RankedItem]) -> RetrievalReport:
    if not items:
        return RetrievalReport(0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)

    def mean(values: Sequence[float]) -> float:
        return sum(values) / len(values)

    relevant = [(list(item.ranked_ids), list(item.question.relevant_ids)) for item in items]
    latencies = [item.latency_ms for item in items]
    return RetrievalReport(
        n=len(items),
        recall_at_1=mean([recall_at_k(r, g, 1) for r, g in relevant]),
        recall_at_5=mean([recall_at_k(r, g, 5) for r, g in relevant]),
        recall_at_10=mean([recall_at_k(r, g, 10) for r, g in relevant]),
        mrr_at_10=mean([mrr_at_k(r, g, 10) for r, g in relevant]),
        ndcg_at_10=mean([ndcg_at_k(r, g, 10) for r, g in relevant]),
        latency_ms_p50=percentile(latencies, 50),
        latency_ms_p95=percentile(latencies, 95),
    )
