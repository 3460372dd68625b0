"""Retrieved passages as the answering stages use them: numbered, safe to put in a prompt, and the citations they give.

A reply cites the documents it came from, not every passage it was shown: a composed reply the passages of its
units (`bot.compose`), a generated one the passages its sentences draw on (`drawn_on`): for each sentence, the
passage holding the largest share of the sentence's topic words (`bot.terms`; ties go to the better-ranked one), so
a two-sentence answer cites one or two documents. The model's own marks ("[2]") are not trusted for this: a small
model writes "[1]" after whatever it says. A reply whose sentences share no topic word with any passage cites the best
one, which it was given first.

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


def drawn_on(reply: str, passages: Sequence[Passage]) -> list[Passage]:
    """The passages the sentences of `reply` draw on most, in their order (the first passage when none shares a
    topic word with the reply)."""
    used: set[int] = set()
    for sentence in sentences(reply):
        words = [word.lower() for word in content_words(sentence)]
        shares = [share_in(words, f"{passage.title} {passage.text}") for passage in passages]
        best = max(range(len(passages)), key=lambda index: (shares[index], -index), default=None)
        if best is not None and shares[best] > 0:
            used.add(best)
    return [passage for index, passage in enumerate(passages) if index in used] or list(passages[:1])
