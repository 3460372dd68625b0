"""`AnswerStage`: the answer policy — grounded generation with citations, or an honest abstention.

When the best passage scores below `answer.min_score`, the knowledge has no answer and the bot says so and offers a
person instead of letting the model guess (small models answer confidently from nothing). Otherwise the best passages
that fit `answer.max_context_tokens` (counted in the model's own tokens) go to the model as numbered context, and the
reply cites their documents.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from bot.config import AnswerSettings, LLMSettings
from bot.engine import Next
from bot.errors import LLMError
from bot.llm.base import GenerationOptions, LLMBackend
from bot.services import Services
from bot.types import ChatMessage, Citation, Reply, Turn
from knowledge.documents import SearchHit
from prompts import PromptLibrary

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Passage:
    number: int
    title: str
    text: str
    hit: SearchHit


class AnswerStage:
    def __init__(
        self,
        llm: LLMBackend,
        prompts: PromptLibrary,
        answer: AnswerSettings,
        llm_settings: LLMSettings,
        bot_name: str = "Deskbot",
        company: str = "our company",
    ) -> None:
        self._llm = llm
        self._prompts = prompts
        self._answer = answer
        self._options = GenerationOptions(
            max_new_tokens=llm_settings.max_new_tokens,
            temperature=llm_settings.temperature,
            timeout_s=llm_settings.timeout_s,
        )
        self._system = prompts.render("system", bot_name=bot_name, company=company)

    @classmethod
    def build(cls, services: Services) -> AnswerStage:
        settings = services.settings
        return cls(services.llm, services.prompts, settings.answer, settings.llm, services.bot_name, services.company)

    async def warm_up(self) -> None:
        await asyncio.to_thread(self._llm.load)

    def select_passages(self, hits: list[SearchHit]) -> list[Passage]:
        """The best passages, in rank order, that fit the context budget (at least one)."""
        passages: list[Passage] = []
        used = 0
        for hit in hits[: self._answer.max_passages]:
            if hit.score < self._answer.min_score:
                break
            title = " - ".join(part for part in (hit.chunk.title, hit.chunk.section) if part)
            cost = self._llm.count_tokens(f"{title}\n{hit.chunk.text}")
            if passages and used + cost > self._answer.max_context_tokens:
                break
            used += cost
            passages.append(Passage(len(passages) + 1, title, hit.chunk.text, hit))
        return passages

    def messages_for(self, question: str, passages: list[Passage]) -> list[ChatMessage]:
        prompt = self._prompts.render("answer", passages=passages, question=question)
        return [ChatMessage("system", self._system), ChatMessage("user", prompt)]

    @staticmethod
    def citations_for(passages: list[Passage]) -> tuple[Citation, ...]:
        citations: dict[str, Citation] = {}
        for passage in passages:
            chunk = passage.hit.chunk
            if chunk.document_id not in citations:
                citations[chunk.document_id] = Citation(
                    id=chunk.document_id,
                    title=chunk.title,
                    source=chunk.source,
                    score=round(passage.hit.score, 4),
                    number=passage.number,
                )
        return tuple(citations.values())

    def abstain(self, turn: Turn) -> Reply:
        return Reply(
            text=self._prompts.render("abstain"),
            abstained=True,
            kind="abstain",
            conversation_id=turn.message.conversation_id,
        )

    async def __call__(self, turn: Turn, call_next: Next) -> Reply:
        passages = self.select_passages(turn.hits) if turn.hits else []
        if not passages:
            return self.abstain(turn)
        messages = self.messages_for(turn.message.text, passages)
        pieces: list[str] = []
        try:
            async for piece in self._llm.stream(messages, self._options):
                pieces.append(piece)
                await turn.send(piece)
        except LLMError as error:
            log.error("LLM failed in conversation %s: %s", turn.message.conversation_id, error)
            return Reply(text=self._prompts.render("error"), kind="error", conversation_id=turn.message.conversation_id)
        text = "".join(pieces).strip()
        if not text:
            return self.abstain(turn)
        return Reply(text=text, citations=self.citations_for(passages), conversation_id=turn.message.conversation_id)
