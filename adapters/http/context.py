"""`ChannelContext`: what every route of the HTTP app shares (the responder, its tables, metrics, outgoing hooks).

Routes answer chat turns through `answers`: the answer processes' `chat_channel` (`adapters.http.answer_channel`)
when serve runs them, else this process's `responder` (`bot.responder.Responder`: readiness, the canned fallback);
metrics and the outgoing webhooks listen to every reply a responder gives, in whichever process it answers. Webhook
routes do not answer themselves: they `submit` the delivery and acknowledge, and an `AnswerWorker` answers it.
`databases` are the ones the routes need (the store, and the delivery queue where it lives apart), which `/readyz`
checks; `api_limits` counts each API caller's requests (a widget key's messages are counted in the store,
`adapters.http.widget_keys`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from fastapi import Request

from adapters.http.background import BackgroundWork
from adapters.http.limits import PrincipalRateLimit
from adapters.http.metrics import Metrics
from adapters.http.queue_writer import QueueWriter
from adapters.http.settings import ServerSettings, SlackSettings, WebhookSettings
from bot.store.rate_limits import rate_limiter

if TYPE_CHECKING:
    from adapters.http.answer_channel import AnswerChannel, ChatAnswers
    from adapters.http.answer_status import AnswerStatusBoard
    from adapters.http.answer_worker import AnswerWorker
    from adapters.http.api_keys import ApiKeys
    from adapters.http.deliveries import Deliveries
    from adapters.http.handoff_notices import HandoffWebhook
    from adapters.http.outgoing_webhooks import OutgoingWebhooks
    from adapters.http.slack.replies import SlackReplies
    from adapters.http.widget_keys import WidgetKeys
    from adapters.http.worker_heartbeats import WorkerHeartbeats
    from bot.config import Settings
    from bot.responder import Responder
    from bot.store.database import Database
    from knowledge.base import KnowledgeBase

log = logging.getLogger(__name__)


@dataclass
class ChannelContext:
    responder: Responder
    settings: Settings
    metrics: Metrics
    api_keys: ApiKeys
    widget_keys: WidgetKeys
    deliveries: Deliveries
    databases: tuple[Database, ...]
    slack: SlackReplies | None = None
    outgoing: OutgoingWebhooks | None = None
    handoff: HandoffWebhook | None = None  # where handoff notices go, if anywhere
    background: BackgroundWork = field(default_factory=BackgroundWork)
    worker: AnswerWorker | None = None  # the answer worker in this process, if any
    answer_processes: AnswerStatusBoard | None = None  # where answer processes of their own report, if any
    worker_heartbeats: WorkerHeartbeats | None = None  # where `deskbot worker`s beat, when they answer the queue
    knowledge: Callable[[], KnowledgeBase] | None = None  # the engine's knowledge base (the console writes to it)
    chat_channel: AnswerChannel | None = None  # the answer processes answer the chat turns, when set
    _queue_writer: QueueWriter = field(init=False)

    def __post_init__(self) -> None:
        self._queue_writer = QueueWriter(self.deliveries)

    def close(self) -> None:
        self._queue_writer.close()

    @property
    def answers(self) -> ChatAnswers:
        """What answers the chat routes' turns: the answer processes, else this process's responder."""
        return self.chat_channel if self.chat_channel is not None else self.responder

    @property
    def server(self) -> ServerSettings:
        return self.settings.section(ServerSettings)

    @cached_property
    def api_limits(self) -> PrincipalRateLimit:
        server = self.server
        limit, window_s = server.api_rate_limit_requests, server.api_rate_limit_window_s
        return PrincipalRateLimit(rate_limiter(self.settings, self.databases[0], "api", limit, window_s))

    @property
    def slack_settings(self) -> SlackSettings:
        return self.settings.section(SlackSettings)

    @property
    def webhook_settings(self) -> WebhookSettings:
        return self.settings.section(WebhookSettings)

    async def submit(
        self, source: str, delivery_id: str, payload: Mapping[str, Any], reply: Mapping[str, Any] | None = None
    ) -> bool:
        """Queue a delivery for the answer workers; False for a repeat (counted in the metrics). A database that is
        down raises `StoreError`, a 503 (`adapters.http.store_errors`): not acknowledged, so the sender retries it.

        The insert runs in a thread of its own, so an acknowledgement never queues behind other blocking work, and
        is committed with the deliveries submitted meanwhile (`adapters.http.queue_writer`).
        """
        queued = await self._queue_writer.submit(source, delivery_id, payload, reply)
        if not queued:
            self.metrics.duplicates.labels(source).inc()
            log.info("%s delivery %s already queued; ignoring the repeat", source, delivery_id)
        elif self.worker is not None:
            self.worker.wake()
        return queued


async def channel_context(request: Request) -> ChannelContext:
    """The app's shared `ChannelContext` (async, so FastAPI does not hop to a worker thread to get it)."""
    context: ChannelContext = request.app.state.deskbot
    return context
