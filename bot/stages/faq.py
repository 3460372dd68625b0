"""`FaqStage`: a curated FAQ answer, verbatim, when the best passage is one and matches with high confidence.

An FAQ entry is a passage whose heading (its section, else its document's title) is a question, or whose document
is marked `doc_type`/`type` `faq` in its metadata (jsonl/csv FAQ entries). When the best hit is one scoring at least
`answer.faq_min_score`, its text is the reply: no generation, nothing made up. Otherwise the next stage answers.
"""

from __future__ import annotations

from typing import ClassVar

from bot.engine import Next, StageInfo
from bot.services import Services
from bot.stages.passages import Passage, citations_for
from bot.types import Reply, Turn
from knowledge.documents import SearchHit
from knowledge.retrievers.headings import answers_a_question


def is_faq_entry(hit: SearchHit) -> bool:
    """Whether the hit is an FAQ entry (its heading is a question, or its document is marked `faq`)."""
    return answers_a_question(hit.chunk)


class FaqStage:
    info: ClassVar[StageInfo] = StageInfo(role="answer", needs=frozenset({"hits"}))

    def __init__(self, min_score: float) -> None:
        self._min_score = min_score

    @classmethod
    def build(cls, services: Services) -> FaqStage:
        return cls(services.settings.answer.faq_min_score)

    def faq_answer(self, hits: list[SearchHit]) -> SearchHit | None:
        """The best hit, when it is a curated FAQ entry matched with high confidence."""
        if hits and hits[0].score >= self._min_score and is_faq_entry(hits[0]):
            return hits[0]
        return None

    async def __call__(self, turn: Turn, call_next: Next) -> Reply:
        hit = self.faq_answer(turn.hits)
        if hit is None:
            return await call_next(turn)
        passage = Passage(1, hit.chunk.section or hit.chunk.title, hit.chunk.text, hit)
        await turn.send(hit.chunk.text)
        return Reply(
            text=hit.chunk.text,
            citations=citations_for([passage]),
            kind="faq",
            conversation_id=turn.message.conversation_id,
        )
