"""`RewriteStage`: makes the last user turn a self-contained search query (`turn.query`) from the conversation.

Two rewriters, chosen by `[rewrite] mode`:

- `keywords` (default; no model call, well under a millisecond): when the message reads as a follow-up (it refers
  back with "it", "they", "there", "这个", "他家", "别的", ... or is too short to stand alone), the names and content
  words of the most recent earlier turns, the customer's and the bot's, are appended to it, the latest first. A
  self-contained message is searched as it is, which is what keeps unrelated earlier topics from drowning it (plain
  concatenation of the last turns does). Chinese words count half against the budget of added words: the segmenter
  cuts a name such as 北京贵都大酒店 into several short words, and the whole name must come along. Canned replies
  (abstentions, errors) never reach the history, so they are never searched for.
- `llm`: the model rewrites the question with `prompts/rewrite.j2`; when it fails, is slower than
  `rewrite.llm_timeout_s`, or returns something unusable, the keyword rewrite is used instead.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import ClassVar

from bot.config import RewriteSettings
from bot.engine import Next, StageInfo
from bot.errors import LLMError
from bot.llm.base import GenerationOptions, LLMBackend, complete
from bot.services import Services
from bot.terms import REFERRING, WORD, content_words
from bot.types import ChatMessage, Reply, Turn
from knowledge.text import has_han
from knowledge.text import words as text_words
from prompts import PromptLibrary

log = logging.getLogger(__name__)

HAN_WORD_COST = 0.5
"""What an added Chinese word costs of `max_added_words` (crosswoz_zh dev, 200 multi-turn items, e5 + BM25:
recall@5 0.85 at 1.0, 0.90 at 0.5; the English sets are unchanged, they have no Han words)."""


def is_follow_up(message: str, min_content_words: int = 4) -> bool:
    """True when the message leans on earlier turns: it refers back, or says too little to search on its own."""
    words = [w.lower() for w in text_words(message, WORD)]
    if any(word in REFERRING for word in words):
        return True
    return len(content_words(message)) < min_content_words


class KeywordRewriter:
    """Appends the content words of recent turns (newest first) to a follow-up message; see the module docstring."""

    def __init__(self, max_added_words: int = 12, turns_back: int = 4) -> None:
        self.max_added_words = max_added_words
        self.turns_back = turns_back

    def rewrite(self, history: Sequence[ChatMessage], message: str) -> str:
        earlier = [turn for turn in history if turn.role in {"user", "assistant"}][-self.turns_back :]
        if not earlier or not is_follow_up(message):
            return message
        own = {word.lower() for word in content_words(message)}
        added: list[str] = []
        budget = float(self.max_added_words)
        for turn in reversed(earlier):
            for word in content_words(turn.content):
                cost = HAN_WORD_COST if has_han(word) else 1.0
                if word.lower() not in own and cost <= budget:
                    own.add(word.lower())
                    added.append(word)
                    budget -= cost
        return f"{message} {' '.join(added)}" if added else message


class LLMRewriter:
    """Asks the model for a standalone question; `None` when it cannot give a usable one in time."""

    def __init__(self, llm: LLMBackend, prompts: PromptLibrary, timeout_s: float) -> None:
        self._llm = llm
        self._prompts = prompts
        self._options = GenerationOptions(max_new_tokens=48, temperature=0.0, timeout_s=timeout_s)

    async def rewrite(self, history: Sequence[ChatMessage], message: str) -> str | None:
        prompt = self._prompts.render("rewrite", history=history[-6:], question=message)
        try:
            async with asyncio.timeout(self._options.timeout_s):
                text = await complete(self._llm, [ChatMessage("user", prompt)], self._options)
        except (LLMError, TimeoutError) as error:
            log.warning("query rewrite by the model failed, using keywords: %s", error.__class__.__name__)
            return None
        line = text.strip().splitlines()[0].strip().strip('"') if text.strip() else ""
        return line if 3 <= len(line) <= 400 else None


class RewriteStage:
    info: ClassVar[StageInfo] = StageInfo(role="query", provides=frozenset({"query"}))

    def __init__(self, settings: RewriteSettings, keywords: KeywordRewriter, llm: LLMRewriter | None = None) -> None:
        self._settings = settings
        self._keywords = keywords
        self._llm = llm

    @classmethod
    def build(cls, services: Services) -> RewriteStage:
        settings = services.settings.rewrite
        llm = LLMRewriter(services.llm, services.prompts, settings.llm_timeout_s) if settings.mode == "llm" else None
        return cls(settings, KeywordRewriter(), llm)

    async def __call__(self, turn: Turn, call_next: Next) -> Reply:
        message = turn.message.text
        if self._settings.mode == "off" or not turn.history:
            turn.query = turn.query or message
            return await call_next(turn)
        rewritten = await self._llm.rewrite(turn.history, message) if self._llm is not None else None
        turn.query = rewritten or self._keywords.rewrite(turn.history, message)
        log.debug("search query for conversation %s: %s", turn.message.conversation_id, turn.query)
        return await call_next(turn)
