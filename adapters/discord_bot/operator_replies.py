"""Operator replies and handoff notices in `deskbot discord`: its own answer worker over the durable delivery queue.

Only this process holds a Discord gateway connection, so the operator replies the console wrote to Discord
conversations wait in the queue under `operator_delivery.DISCORD_SOURCE`, which the HTTP app's workers leave alone.
`QueueConsumer` runs an `AnswerWorker` that takes only those (and handoff notices, which this process queues for
its own `/human`s: `adapters.http.handoff_notices`), from the same queue database as `deskbot serve`
(`[store] queue_url`, else `[store] url`).

`DiscordOperatorReplies.deliver` sends a reply with discord.py to the conversation's channel: `discord:<channel>` is
a DM or a thread the bot opened, `discord:<channel>:<user>` a shared channel, where the reply mentions the user. It
is labelled with the operator's name, and split at Discord's 2,000 characters. Discord's 5xx or a 429 that outlasted
discord.py's own waits, or Discord out of reach, is retried through the queue with backoff; any other refusal (a
channel that does not exist, 404, or the bot may not write in, 403) is given up at once and recorded undelivered.
A retry after a reply that was split and partly sent sends its first pieces again.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import aiohttp
import discord

from adapters.discord_bot.streaming import DISCORD_LIMIT
from adapters.http import handoff_notices
from adapters.http.answer_worker import AnswerWorker, JobHandler, nothing_to_answer
from adapters.http.deliveries import (
    Deliveries,
    DeliveryFailedError,
    SourceFilter,
    deliveries_from_settings,
    queue_database_url,
)
from adapters.http.handoff_notices import HandoffWebhook
from adapters.http.operator_delivery import DISCORD_SOURCE, OperatorReply
from adapters.splitting import split_message
from bot.adapter import AdapterContext
from bot.store.database import Database
from bot.types import Reply

log = logging.getLogger(__name__)

STOP_GRACE_S = 10.0


def discord_target(conversation_id: str) -> tuple[int, int | None]:
    """The channel (or thread) id of a Discord conversation, and the user to mention in a shared channel."""
    parts = conversation_id.split(":")
    if len(parts) not in (2, 3) or parts[0] != "discord" or not all(part.isdigit() for part in parts[1:]):
        raise DeliveryFailedError(f"not a Discord conversation id: {conversation_id!r}", permanent=True)
    return int(parts[1]), int(parts[2]) if len(parts) == 3 else None


def operator_message(reply: OperatorReply, mention: int | None) -> str:
    """The reply's text, labelled with who wrote it (and the user it answers, in a shared channel)."""
    text = f"<@{mention}> {reply.text}" if mention is not None else reply.text
    return f"{text}\n-# {reply.operator}, a person on our support team"


class DiscordOperatorReplies:
    """The deliver step of `DISCORD_SOURCE` jobs, through `client`'s REST connection."""

    def __init__(self, client: discord.Client) -> None:
        self._client = client

    async def deliver(self, payload: dict[str, Any], _reply: Reply) -> None:
        reply = OperatorReply.from_payload(payload)
        channel_id, mention = discord_target(reply.conversation_id)
        channel = self._client.get_partial_messageable(channel_id)
        try:
            for piece in split_message(operator_message(reply, mention), DISCORD_LIMIT):
                await channel.send(piece)
        except discord.HTTPException as error:
            permanent = error.status < 500 and error.status != 429
            reason = f"Discord refused the reply in channel {channel_id}: HTTP {error.status}"
            raise DeliveryFailedError(reason, permanent=permanent) from error
        except (aiohttp.ClientError, OSError, TimeoutError) as error:
            reason = f"cannot reach Discord to reply in channel {channel_id}: {error.__class__.__name__}"
            raise DeliveryFailedError(reason) from error
        log.info("operator reply %d sent to Discord channel %d", reply.message_id, channel_id)


def queue_deliveries(context: AdapterContext) -> Deliveries:
    """The delivery queue `deskbot serve` uses with the same configuration."""
    url = queue_database_url(context.settings)
    store = context.database()
    queue = store if store.url == url else Database.from_settings(context.settings, url)
    return deliveries_from_settings(context.settings, queue)


class QueueConsumer:
    """Delivers this process's jobs from the queue (`start` in the client's setup hook, `stop` when it closes)."""

    def __init__(self, context: AdapterContext, client: discord.Client) -> None:
        deliveries = queue_deliveries(context)
        handlers = {DISCORD_SOURCE: JobHandler(nothing_to_answer, DiscordOperatorReplies(client).deliver)}
        self.handoff = HandoffWebhook.from_settings(context.settings, deliveries)
        if self.handoff is not None:
            self.handoff.listen_to(context.handoff_notices)
            handlers[handoff_notices.SOURCE] = JobHandler(nothing_to_answer, self.handoff.post)
        self.worker = AnswerWorker(deliveries, handlers, sources=SourceFilter(only=frozenset(handlers)), poll_s=0.5)
        self._running: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._running is None:
            self._running = asyncio.create_task(self.worker.run(), name="deskbot-discord-deliveries")

    async def stop(self) -> None:
        if self._running is not None:
            await self.worker.stop(STOP_GRACE_S)
            await self._running
            self._running = None
        if self.handoff is not None:
            await self.handoff.close()
