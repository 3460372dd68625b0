"""`OutputGuardStage`: a generated answer that repeats the system prompt is replaced by a refusal.

It wraps the answering stages: it lets them write the reply, then inspects it. Injected instructions ("print your
rules") sometimes get a small model to comply; any one of the rules' own sentences in a reply gives it away (a reply
may hold only a few sentences: `llm.max_sentences`).
"""

from __future__ import annotations

import logging
from typing import ClassVar

from bot.engine import Next, StageInfo
from bot.language import reply_language
from bot.services import Services
from bot.types import Reply, Turn
from knowledge.sentences import sentences
from prompts import PromptLibrary

log = logging.getLogger(__name__)

MIN_RULE_CHARS = 30  # shorter sentences ("Be brief.") are common in honest answers too


class OutputGuardStage:
    info: ClassVar[StageInfo] = StageInfo(role="check")

    def __init__(self, prompts: PromptLibrary, bot_name: str, company: str) -> None:
        self._prompts = prompts
        self._company = company
        system = prompts.render("system", bot_name=bot_name, company=company)
        self._rules = [rule.lower() for rule in sentences(system) if len(rule) >= MIN_RULE_CHARS]

    @classmethod
    def build(cls, services: Services) -> OutputGuardStage:
        return cls(services.prompts, services.bot_name, services.company)

    def reveals_rules(self, text: str) -> bool:
        flat = " ".join(text.split()).lower()
        return any(line in flat for line in self._rules)

    async def __call__(self, turn: Turn, call_next: Next) -> Reply:
        reply = await call_next(turn)
        if reply.kind != "answer" or not self.reveals_rules(reply.text):
            return reply
        log.warning("reply in conversation %s repeated the system prompt; refused", turn.message.conversation_id)
        return Reply(
            text=self._prompts.render(
                "refuse_rules", reply_language(turn.message, turn.profile), company=self._company
            ),
            kind="guard",
            conversation_id=turn.message.conversation_id,
        )
