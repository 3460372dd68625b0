"""`GuardStage`: turns away oversized messages and floods, and masks personal data before anything stores it.

Limits come from `[guard]`: `max_message_chars`, `rate_limit_messages` per `rate_limit_window_s` for one user (counted
in this process: behind several workers each enforces its own share), and `redact_pii`.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from typing import ClassVar

from bot.config import GuardSettings
from bot.engine import Next, StageInfo
from bot.language import reply_language
from bot.pii import redact_message
from bot.services import Services
from bot.types import Reply, Turn
from prompts import PromptLibrary

log = logging.getLogger(__name__)


class RateLimiter:
    """A sliding window of message times per user."""

    def __init__(self, limit: int, window_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window_s = window_s
        self._clock = clock
        self._sent: dict[str, deque[float]] = {}

    def allow(self, user_id: str) -> bool:
        now = self._clock()
        sent = self._sent.setdefault(user_id, deque())
        while sent and now - sent[0] >= self.window_s:
            sent.popleft()
        if len(sent) >= self.limit:
            return False
        sent.append(now)
        if len(self._sent) > 10_000:  # forget users who went quiet, so the table stays small
            self._sent = {
                user: times for user, times in self._sent.items() if times and now - times[-1] < self.window_s
            }
        return True


class GuardStage:
    info: ClassVar[StageInfo] = StageInfo(role="guard")

    def __init__(self, settings: GuardSettings, prompts: PromptLibrary, limiter: RateLimiter | None = None) -> None:
        self._settings = settings
        self._prompts = prompts
        self._limiter = limiter or RateLimiter(settings.rate_limit_messages, settings.rate_limit_window_s)

    @classmethod
    def build(cls, services: Services) -> GuardStage:
        return cls(services.settings.guard, services.prompts)

    def _refuse(self, turn: Turn, template: str, **values: object) -> Reply:
        return Reply(
            text=self._prompts.render(template, reply_language(turn.message), **values),
            kind="guard",
            conversation_id=turn.message.conversation_id,
        )

    async def __call__(self, turn: Turn, call_next: Next) -> Reply:
        message = turn.message
        if not self._limiter.allow(message.user_id):
            log.warning("rate limit: user %s sent too many messages", message.user_id)
            return self._refuse(turn, "rate_limited")
        if len(message.text) > self._settings.max_message_chars:
            log.warning("message of %d characters from user %s refused", len(message.text), message.user_id)
            return self._refuse(turn, "too_long", limit=self._settings.max_message_chars)
        turn.message = redact_message(message, self._settings)
        return await call_next(turn)
