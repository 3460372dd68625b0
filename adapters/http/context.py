"""`ChannelContext`: what every route of the HTTP app shares (engine loader, store tables, metrics, outgoing hooks).

`answer(message)` is the one way routes get a reply: it waits for the engine, never raises for a failed turn (the
customer gets the polite canned reply), records metrics and announces the reply to outgoing webhooks.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from fastapi import Request

from adapters.fallback import answer_safely, fallback_reply
from adapters.http.background import BackgroundWork
from adapters.http.metrics import Metrics
from adapters.http.readiness import EngineLoader, EngineNotReadyError
from bot.types import Emit, Message, Reply

if TYPE_CHECKING:
    from adapters.http.slack.replies import SlackReplies
    from adapters.http.webhooks import OutgoingWebhooks
    from bot.config import Settings
    from bot.runtime import Runtime
    from bot.store.api_keys import ApiKeys
    from bot.store.deliveries import Deliveries


@dataclass
class ChannelContext:
    runtime: Runtime
    loader: EngineLoader
    metrics: Metrics
    api_keys: ApiKeys
    deliveries: Deliveries
    slack: SlackReplies | None = None
    outgoing: OutgoingWebhooks | None = None
    background: BackgroundWork = field(default_factory=BackgroundWork)
    _claims: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(max_workers=1, thread_name_prefix="deskbot-claims")
    )

    def close(self) -> None:
        self._claims.shutdown(wait=False)

    @property
    def settings(self) -> Settings:
        return self.runtime.settings

    async def claim_delivery(self, source: str, delivery_id: str) -> bool:
        """`Deliveries.claim` in a thread of its own, so acknowledgements never queue behind answer work."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._claims, self.deliveries.claim, source, delivery_id)

    async def answer(self, message: Message, emit: Emit | None = None) -> Reply:
        prompts = self.runtime.prompts()
        try:
            engine = await self.loader.engine()
        except EngineNotReadyError:
            reply = fallback_reply(message, prompts)
        else:
            reply = await answer_safely(engine, message, prompts, emit)
        self.metrics.record_reply(message.channel, reply)
        if self.outgoing is not None:
            self.outgoing.announce(message, reply, self.background)
        return reply


async def channel_context(request: Request) -> ChannelContext:
    """The app's shared `ChannelContext` (async, so FastAPI does not hop to a worker thread to get it)."""
    context: ChannelContext = request.app.state.deskbot
    return context
