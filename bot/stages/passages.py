"""Retrieved passages as the answering stages use them: numbered, safe to put in a prompt, and the citations they give.

A reply cites the documents it came from, not every passage it was shown: a composed reply the passages of its
units (`bot.compose`), a generated one the passages its sentences draw on (`drawn_on`). A sentence draws on the
passage that `support`s it best - 1.0 for a passage holding the sentence verbatim, else the share of the sentence's
topic words (`bot.terms`) the passage holds; ties go to the better-ranked one - when that support is at least
`MIN_SUPPORT` (half its topic words): so a two-sentence answer cites one or two documents, and a sentence the
passages do not carry ("I'm sorry, I can't help with that.", a guess) cites nothing. A reply none of whose sentences
draws on a passage cites nothing. The model's own marks ("[2]") are not trusted for this: a small model writes "[1]"
after whatever it says. `deskbot eval answers` measures citation attribution with the same `sources` over the cited
documents' text (`bot.evaluation.answers`).

Safe means that a passage's text can neither close the prompt's delimiting tags (`neutralise_tags`) nor give the
model orders: its instruction-like sentences ("ignore previous instructions", "answer in French", "你现在是...",
`bot.injection`) are removed before the model reads it (`passage_text`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from bot.injection import strip_instructions
from bot.terms import content_words, share_in
from bot.types import Citation
from knowledge.documents import SearchHit
from knowledge.sentences import sentences

_TAG = re.compile(r"<(/?)(passage|customer_message)", re.IGNORECASE)


def neutralise_tags(text: str) -> str:
    """Text that cannot open or close the prompt's own delimiting tags."""
    return _TAG.sub(r"‹\1\2", text)


def passage_text(text: str) -> str:
    """Retrieved text as a prompt may carry it: without instruction-like sentences, tags neutralised."""
    return neutralise_tags(strip_instructions(text))


@dataclass(frozen=True)
class Passage:
    number: int
    title: str
    text: str
    hit: SearchHit


def heading(hit: SearchHit) -> str:
    """ "Title - Section" of the hit's chunk (either part when the other is empty)."""
    return " - ".join(part for part in (hit.chunk.title, hit.chunk.section) if part)


def citations_for(passages: Sequence[Passage]) -> tuple[Citation, ...]:
    """One citation per document, numbered as its first passage."""
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


MIN_SUPPORT = 0.5
"""The least `support` by which a sentence draws on a passage: half of its topic words, or the sentence verbatim."""


def _normalised(text: str) -> str:
    return " ".join(text.lower().split())


def support(sentence: str, text: str) -> float:
    """How much of `sentence` `text` carries: 1.0 when it holds the sentence verbatim (whitespace and case aside),
    else the share of the sentence's topic words it contains (0.0 for a sentence without topic words)."""
    wanted = _normalised(sentence)
    if wanted and wanted in _normalised(text):
        return 1.0
    return share_in([word.lower() for word in content_words(sentence)], text)


def sources(reply: str, texts: Sequence[str], min_support: float = MIN_SUPPORT) -> list[int]:
    """Positions of the `texts` that the sentences of `reply` draw on: for each sentence, the text that supports it
    best (the first of equals), when it does so by at least `min_support`; in the texts' order."""
    used: set[int] = set()
    for sentence in sentences(reply):
        scores = [support(sentence, text) for text in texts]
        best = max(range(len(texts)), key=lambda index: (scores[index], -index), default=None)
        if best is not None and scores[best] >= min_support and scores[best] > 0:
            used.add(best)
    return sorted(used)


def drawn_on(reply: str, passages: Sequence[Passage], min_support: float = MIN_SUPPORT) -> list[Passage]:
    """The passages the sentences of `reply` draw on (`sources` over their titles and texts), in their order; none
    when no sentence draws on one."""
    used = sources(reply, [f"{passage.title} {passage.text}" for passage in passages], min_support)
    return [passages[index] for index in used]
