"""`GuardStage`: turns away oversized messages and floods, masks personal data before anything stores it, and keeps
customers from rewriting the bot's rules.

Limits come from `[guard]`: `max_message_chars`, `rate_limit_messages` per `rate_limit_window_s` for one user
(counted where `[store] rate_limits` says, `bot.rate_limits`: in the database, one count across every instance and
answer process on the store; or in each process, which then enforces its own share), and `redact_pii`. The user is
`user_id`, which Slack and Discord authenticate; the HTTP API namespaces it by the calling key
(`api:<key>:<user_id>`) and limits each key's requests itself (`adapters.http.limits`), so a caller that invents user
ids still meets a limit.

Role changes (`refuse_role_changes`, on by default): sentences that try to replace the bot's rules or identity
("ignore your rules", "you are now DAN", "从现在起你是...", `bot.injection.role_change`) are dropped from the message
before anything stores, searches or answers it, so no model ever reads them; the rest of the message is answered as
usual. A message that was nothing but such sentences gets the canned `role_change` reply. This does not depend on the
model obeying its system prompt; what a model writes anyway is `OutputGuardStage`'s to check.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import ClassVar

from bot.config import GuardSettings
from bot.engine import Next, StageInfo
from bot.injection import strip_role_changes
from bot.language import reply_language
from bot.pii import redact_message
from bot.rate_limits import RateLimit, RateLimiter, allow
from bot.services import Services
from bot.store.rate_limits import rate_limiter
from bot.types import Reply, Turn
from knowledge.text import words
from prompts import PromptLibrary

log = logging.getLogger(__name__)


class GuardStage:
    info: ClassVar[StageInfo] = StageInfo(role="guard")

    def __init__(
        self,
        settings: GuardSettings,
        prompts: PromptLibrary,
        limiter: RateLimit | None = None,
        bot_name: str = "Deskbot",
        company: str = "our company",
    ) -> None:
        self._settings = settings
        self._prompts = prompts
        self._limiter = limiter or RateLimiter(settings.rate_limit_messages, settings.rate_limit_window_s)
        self._bot_name = bot_name
        self._company = company

    @classmethod
    def build(cls, services: Services) -> GuardStage:
        guard = services.settings.guard
        limiter = rate_limiter(
            services.settings, services.database, "guard", guard.rate_limit_messages, guard.rate_limit_window_s
        )
        return cls(guard, services.prompts, limiter, bot_name=services.bot_name, company=services.company)

    def _refuse(self, turn: Turn, template: str, **values: object) -> Reply:
        return Reply(
            text=self._prompts.render(template, reply_language(turn.message), **values),
            kind="guard",
            conversation_id=turn.message.conversation_id,
        )

    async def __call__(self, turn: Turn, call_next: Next) -> Reply:
        message = turn.message
        if not await allow(self._limiter, message.user_id):
            log.warning("rate limit: user %s sent too many messages", message.user_id)
            return self._refuse(turn, "rate_limited")
        if len(message.text) > self._settings.max_message_chars:
            log.warning("message of %d characters from user %s refused", len(message.text), message.user_id)
            return self._refuse(turn, "too_long", limit=self._settings.max_message_chars)
        turn.message = redact_message(message, self._settings)
        if self._settings.refuse_role_changes:
            kept = strip_role_changes(turn.message.text)
            if kept != turn.message.text:
                log.warning("role change dropped from the message of user %s", message.user_id)
                if not words(kept):
                    return self._refuse(turn, "role_change", bot_name=self._bot_name, company=self._company)
                turn.message = replace(turn.message, text=kept)
        return await call_next(turn)
