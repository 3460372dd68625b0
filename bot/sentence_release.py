"""`SentenceRelease`: the one hold-back of a generated reply; a sentence goes out as soon as it is complete and has
passed every check.

A generated sentence is checked before the customer sees it: its claims against the passages (the answer stage,
`bot.claims`), the reply so far for a leaked prompt, another language or persona, a planted marker (the output guard,
`bot.stages.output_guard`). Both need whole sentences, so the model's text is held back once, here, and every check
runs on the same released sentence. Pieces are added as the model writes them; a sentence is complete when the next
one begins (`knowledge.sentences.leading_sentences`, the rule the sentence stop counts with; its citation marks stay
with it) or when the stream ends (`finish`). Each complete sentence goes through the checks in order; when all pass
it is sent on (`send`: the turn's, which stamps the time to first token), else the release stops: `failure` says
which check failed on which sentence, nothing more is sent (the sentences before it were), and `add` returns False so
that the caller closes the model's stream. The caller decides what replaces the reply.

Checks come from the stage that streams (its own, such as the claim check) and from the stages around it, which
put theirs on the turn (`Turn.checks`) and replace the reply when one of theirs failed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.types import Emit, SentenceCheck
from knowledge.sentences import leading_sentences


@dataclass(frozen=True)
class Withheld:
    """The sentence a check stopped, which check and why."""

    check: str
    problem: str
    sentence: str


class SentenceRelease:
    def __init__(self, send: Emit, checks: Sequence[SentenceCheck]) -> None:
        self._send = send
        self._checks = list(checks)
        self._held = ""
        self.released = ""
        """The text sent on so far."""
        self.failure: Withheld | None = None

    async def add(self, piece: str) -> bool:
        """Hold `piece` and send on the sentences it completes; False once a check has failed."""
        if self.failure is not None:
            return False
        self._held += piece
        complete, rest = leading_sentences(self._held)
        for sentence in complete:
            if not await self._release(sentence):
                return False
        self._held = rest
        return True

    async def finish(self) -> bool:
        """The stream ended: send on what is held, once it passes the checks; False when a check failed."""
        if self.failure is not None:
            return False
        held, self._held = self._held, ""
        return not held.strip() or await self._release(held)

    async def _release(self, sentence: str) -> bool:
        so_far = self.released + sentence
        for check in self._checks:
            problem = check.problem(sentence, so_far)
            if problem is not None:
                self.failure = Withheld(check.name, problem, sentence)
                return False
        self.released = so_far
        await self._send(sentence)
        return True
