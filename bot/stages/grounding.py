"""`Grounding`: every sentence of a generated reply draws on the passages the model was given.

The claim check (`bot.claims`) verifies what a sentence states that can be checked - numbers, codes, names, links,
a yes/no against the passages' own. A small model also answers from its own knowledge in words that make no such
claim ("Can children get corona?" - "The answer is no, children cannot get corona."), and that passes it. This check
asks the other question: does the sentence come from a passage at all (`bot.stages.passages.drawn_on`: a passage
holds it verbatim or at least half of its topic words)? The answer stage puts it after the claim check and the
output guard's checks on the one hold-back (`bot.sentence_release`): the reply ends before the first sentence that
does not, and a reply none of whose sentences does is replaced by the composed answer.

Not held to the passages' words: a sentence without topic words ("Yes.", "Anything else?"), and text that is not
surely written in the passages' language (`bot.language.surely_written_in`, read on the reply so far), since a
translation by a capable model shares no words with them; its claims are still checked.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.language import surely_written_in, written_language
from bot.stages.passages import Passage, drawn_on
from bot.terms import content_words
from bot.types import SentenceCheck

GROUNDING_CHECK = "grounding"


class Grounding:
    """The grounding of one generated reply in the `passages` it was written from."""

    def __init__(self, passages: Sequence[Passage]) -> None:
        self._passages = passages
        self._language = written_language(" ".join(passage.text for passage in passages))

    def check(self) -> SentenceCheck:
        """The check that stops the reply before a sentence with topic words that no passage supports."""

        def problem(sentence: str, so_far: str) -> str | None:
            if not content_words(sentence) or not surely_written_in(so_far, self._language):
                return None
            return None if drawn_on(sentence, self._passages) else "no passage supports it"

        return SentenceCheck(GROUNDING_CHECK, problem)

    def draws_on_nothing(self, text: str, drawn: Sequence[Passage]) -> bool:
        """Whether `text`, whose sentences draw on the passages `drawn` (`drawn_on`), draws on none that it must:
        it is empty, or in the passages' language and draws on none."""
        return not drawn and (not text.strip() or surely_written_in(text, self._language))
