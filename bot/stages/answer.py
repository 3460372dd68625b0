"""`AnswerStage`: the answer policy, in this order.

1. **Curated FAQ answer, verbatim.** An FAQ entry is a passage whose heading (its section, else its document's title)
   is a question, or whose document is marked `doc_type`/`type` `faq` in its metadata (jsonl/csv FAQ entries). When the
   best hit is an FAQ entry scoring at least `answer.faq_min_score`, its text is the reply: no generation, nothing
   made up.
2. **Grounded generation**, when the passages are evidence of an answer: the best hit scores at least
   `answer.min_score`, and the top passages contain enough of the message's topic words (`coverage`). How much is
   enough depends on whether the retrievers agree: each of dense similarity and BM25 that ranks the best hit first
   among the retrieved hits (`knowledge.top_k` of them, 4 when calibrated) lowers the required share from
   `answer.min_coverage` by `answer.agreement_credit`.
   Unanswerable questions are usually on topic - similar passages that lack what the customer asks about - so
   similarity alone separates them poorly; a fused best hit that neither retriever put first on its own is usually a
   compromise between two weak matches, and then nearly every topic word must be in the passages. The best
   passages that fit `answer.max_context_tokens` (counted in the model's own tokens) go to the model as numbered,
   delimited context with the last `answer.history_tokens` of the conversation and the user's profile; the reply
   cites their documents.
3. **Honest abstention.** Otherwise the bot says it could not find the answer and offers a person (`/human`): small
   models answer confidently from nothing, so abstention comes from retrieval evidence, not from the model.

The thresholds are calibrated on the dev sets' `answerable` labels (`benchmarks/calibrate_answer_policy.py`,
docs/conversation-engine.md). Retrieved text and the customer's message are wrapped in tags that their content cannot
close, and a reply that repeats the system prompt is replaced by a refusal.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass

from bot.config import AnswerSettings, LLMSettings
from bot.engine import Next
from bot.errors import LLMError
from bot.llm.base import GenerationOptions, LLMBackend
from bot.services import Services
from bot.terms import coverage
from bot.types import ChatMessage, Citation, Reply, Turn
from knowledge.documents import SearchHit
from prompts import PromptLibrary

log = logging.getLogger(__name__)

_TOLERANCE = 1e-9  # coverage is a ratio of small counts; 0.8 - 2 * 0.3 must still admit 1/5
_TAG = re.compile(r"<(/?)(passage|customer_message)", re.IGNORECASE)


def neutralise_tags(text: str) -> str:
    """Text that cannot open or close the prompt's own delimiting tags."""
    return _TAG.sub(r"‹\1\2", text)


def agreeing_retrievers(hits: Sequence[SearchHit]) -> int:
    """How many of the two retrievers, dense similarity (`score`) and BM25 (`lexical_score`), rank the best hit
    first among `hits`: 0, 1 or 2. A hit that BM25 did not find (no lexical score) is not BM25's first."""
    if not hits:
        return 0
    best = hits[0]
    dense_first = best.score >= max(hit.score for hit in hits)
    lexical = [hit.lexical_score for hit in hits if hit.lexical_score is not None]
    lexical_first = best.lexical_score is not None and best.lexical_score >= max(lexical)
    return int(dense_first) + int(lexical_first)


def is_faq_entry(hit: SearchHit) -> bool:
    chunk = hit.chunk
    kind = str(chunk.metadata.get("doc_type") or chunk.metadata.get("type") or "").lower()
    heading = (chunk.section or chunk.title).strip()
    return kind == "faq" or heading.endswith("?")


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
        self._company = company
        self._options = GenerationOptions(
            max_new_tokens=llm_settings.max_new_tokens,
            temperature=llm_settings.temperature,
            timeout_s=llm_settings.timeout_s,
        )
        self._system = prompts.render("system", bot_name=bot_name, company=company)
        self._system_lines = [line.strip() for line in self._system.splitlines() if len(line.strip()) >= 30]

    @classmethod
    def build(cls, services: Services) -> AnswerStage:
        settings = services.settings
        return cls(services.llm, services.prompts, settings.answer, settings.llm, services.bot_name, services.company)

    async def warm_up(self) -> None:
        await asyncio.to_thread(self._llm.load)

    # ----- policy ------------------------------------------------------------------------------------------------

    def faq_answer(self, hits: list[SearchHit]) -> SearchHit | None:
        """The best hit, when it is a curated FAQ entry matched with high confidence."""
        if hits and hits[0].score >= self._answer.faq_min_score and is_faq_entry(hits[0]):
            return hits[0]
        return None

    def coverage(self, message: str, hits: Sequence[SearchHit]) -> float:
        """Share of the message's topic words found in the top passages (titles included)."""
        top = hits[: self._answer.max_passages]
        return coverage(message, " ".join(f"{h.chunk.title} {h.chunk.section} {h.chunk.text}" for h in top))

    def required_coverage(self, hits: Sequence[SearchHit]) -> float:
        """Share of topic words the passages must contain: `min_coverage`, less `agreement_credit` for each
        retriever that ranks the best hit first."""
        return self._answer.min_coverage - self._answer.agreement_credit * agreeing_retrievers(hits)

    def grounded(self, message: str, hits: Sequence[SearchHit]) -> bool:
        """True when the passages carry enough of what the message asks about to answer from them."""
        return self.coverage(message, hits) >= self.required_coverage(hits) - _TOLERANCE

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
            passages.append(Passage(len(passages) + 1, neutralise_tags(title), neutralise_tags(hit.chunk.text), hit))
        return passages

    def recent_history(self, history: list[ChatMessage]) -> list[ChatMessage]:
        """The latest turns that fit `answer.history_tokens`, oldest first, starting with a user turn."""
        kept: list[ChatMessage] = []
        used = 0
        for turn in reversed(history):
            if turn.role not in {"user", "assistant"}:
                continue
            cost = self._llm.count_tokens(turn.content)
            if used + cost > self._answer.history_tokens:
                break
            used += cost
            kept.append(turn)
        kept.reverse()
        while kept and kept[0].role != "user":
            kept.pop(0)
        return kept

    def messages_for(
        self,
        question: str,
        passages: list[Passage],
        history: list[ChatMessage] | None = None,
        profile: dict[str, str] | None = None,
    ) -> list[ChatMessage]:
        prompt = self._prompts.render(
            "answer", passages=passages, question=neutralise_tags(question), profile=profile or {}
        )
        return [ChatMessage("system", self._system), *(history or []), ChatMessage("user", prompt)]

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

    def reveals_rules(self, text: str) -> bool:
        flat = " ".join(text.split()).lower()
        return any(line.lower() in flat for line in self._system_lines)

    # ----- replies -----------------------------------------------------------------------------------------------

    def abstain(self, turn: Turn) -> Reply:
        return Reply(
            text=self._prompts.render("abstain"),
            abstained=True,
            kind="abstain",
            conversation_id=turn.message.conversation_id,
        )

    async def _faq_reply(self, turn: Turn, hit: SearchHit) -> Reply:
        passage = Passage(1, hit.chunk.section or hit.chunk.title, hit.chunk.text, hit)
        await turn.send(hit.chunk.text)
        return Reply(
            text=hit.chunk.text,
            citations=self.citations_for([passage]),
            kind="faq",
            conversation_id=turn.message.conversation_id,
        )

    async def __call__(self, turn: Turn, call_next: Next) -> Reply:
        faq = self.faq_answer(turn.hits)
        if faq is not None:
            return await self._faq_reply(turn, faq)
        passages = self.select_passages(turn.hits) if turn.hits else []
        if not passages or not self.grounded(turn.message.text, turn.hits):
            return self.abstain(turn)
        messages = self.messages_for(turn.message.text, passages, self.recent_history(turn.history), turn.profile)
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
        if self.reveals_rules(text):
            log.warning("reply in conversation %s repeated the system prompt; refused", turn.message.conversation_id)
            return Reply(
                text=self._prompts.render("refuse_rules", company=self._company),
                kind="guard",
                conversation_id=turn.message.conversation_id,
            )
        return Reply(text=text, citations=self.citations_for(passages), conversation_id=turn.message.conversation_id)
