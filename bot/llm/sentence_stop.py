"""Stop a reply once it holds `max_sentences` complete sentences.

Short customer-service answers are complete after two or three sentences; a small model goes on to repeat itself or to
wander until `max_new_tokens`, and every token costs the customer time. Every backend passes its text stream through
`stop_after_sentences`. It counts units with the one sentence splitter (`knowledge.sentences.sentence_spans`, the
rule the reply's release uses too: `.`, `!`, `?` followed by a space and the start of a new sentence, with "e.g.",
"3.5" and "U.S." kept whole; a line break; Chinese `。！？；`), and when unit `max_sentences + 1` begins, the units
before it are complete. Citation markers ("[1]", "[1][2]", "[1, 2]") belong to the sentence before them and are no
sentence of their own. The text up to the end of
unit `max_sentences`, its markers included, is yielded and the source stream is closed, which is how each backend
learns to stop generating (the local model at its next token, a server by its connection closing). Nothing past the
boundary reaches the customer. A sentence end is only known once the next sentence starts, so each reply costs one
token more than its text.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing

from knowledge.sentences import sentence_spans


def end_of_sentences(text: str, count: int) -> int | None:
    """Offset in `text` just after its first `count` sentences (with their citation markers), when a later sentence
    has begun there; else None."""
    spans = sentence_spans(text)
    return spans[count - 1][1] if len(spans) > count else None


async def stop_after_sentences(pieces: AsyncGenerator[str, None], max_sentences: int | None) -> AsyncIterator[str]:
    """`pieces` as they come, cut after `max_sentences` complete sentences (all of them when None)."""
    async with aclosing(pieces):
        if max_sentences is None:
            async for piece in pieces:
                yield piece
            return
        text = ""
        sent = 0  # trailing white space is held back until more text follows it: it may lie past the boundary
        async for piece in pieces:
            text += piece
            end = end_of_sentences(text, max_sentences)
            if end is not None:
                if end > sent:
                    yield text[sent:end]
                return
            ready = len(text.rstrip())
            if ready > sent:
                yield text[sent:ready]
                sent = ready
        if len(text) > sent:
            yield text[sent:]
