"""`RewriteStage`: makes the last user turn a self-contained search query (`turn.query`) from the conversation.

Two rewriters, chosen by `[rewrite] mode`:

- `keywords` (default; no model call, well under a millisecond): when the message reads as a follow-up (it refers
  back with "it", "they", "there", ... or is too short to stand alone), the names and content words of the most
  recent earlier turns are appended to it, the latest first. A self-contained message is searched as it is, which is
  what keeps unrelated earlier topics from drowning it (plain concatenation of the last turns does).
- `llm`: the model rewrites the question with `prompts/rewrite.j2`; when it fails, is slower than
  `rewrite.llm_timeout_s`, or returns something unusable, the keyword rewrite is used instead.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Sequence

from bot.config import RewriteSettings
from bot.engine import Next
from bot.errors import LLMError
from bot.llm.base import GenerationOptions, LLMBackend, complete
from bot.services import Services
from bot.types import ChatMessage, Reply, Turn
from prompts import PromptLibrary

log = logging.getLogger(__name__)

_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'&.+#/-]*")
_REFERRING_WORDS = (
    "it its it's itself they them their theirs there this that these those he she his her him one ones "
    "same such former latter above previous earlier else other another"
)
REFERRING = frozenset(_REFERRING_WORDS.split())
_STOPWORD_LIST = """
    a about above after again against all also am an and any are aren't as at be because been before being below
    between both but by can can't cannot could couldn't did didn't do does doesn't doing don't down during each few for
    from further get got had hadn't has hasn't have haven't having he he'd he'll he's her here here's hers herself him
    himself his how how's i i'd i'll i'm i've if in into is isn't it it's its itself just know let's like me more most
    much mustn't my myself need no nor not now of off on once only or other ought our ours ourselves out over own
    please really same say shan't she she'd she'll she's should shouldn't so some such tell than thank thanks that
    that's the their theirs them themselves then there there's these they they'd they'll they're they've this those
    through to too under until up us very want was wasn't we we'd we'll we're we've were weren't what what's when
    when's where where's which while who who's whom why why's will with won't would wouldn't yes yeah you you'd you'll
    you're you've your yours yourself yourselves ok okay sure great good hi hello hey anything something would like
    looking find help thing things one ones lot bit any many well able else other another"""
STOPWORDS = frozenset(_STOPWORD_LIST.split())


def content_words(text: str) -> list[str]:
    """Words that carry the topic: not stopwords, not bare numbers of one digit, in order, without repeats."""
    seen: set[str] = set()
    words = []
    for raw in _WORD.findall(text):
        word = raw.strip(".'-/")
        key = word.lower()
        if not word or key in STOPWORDS or key in REFERRING or key in seen or (key.isdigit() and len(key) < 2):
            continue
        seen.add(key)
        words.append(word)
    return words


def is_follow_up(message: str, min_content_words: int = 4) -> bool:
    """True when the message leans on earlier turns: it refers back, or says too little to search on its own."""
    words = [w.lower() for w in _WORD.findall(message)]
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
        for turn in reversed(earlier):
            for word in content_words(turn.content):
                if word.lower() not in own and len(added) < self.max_added_words:
                    own.add(word.lower())
                    added.append(word)
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
