"""Operator replies reach the customer's channel: the `operator` jobs of the durable delivery queue.

The console stores a reply an operator wrote (role assistant, kind `human`) and queues one job with
`queue_operator_reply` (source `operator`, delivery id `message:<message id>`, so queueing a message twice sends it
once). An answer worker of `deskbot serve` takes it; the engine is not run (`nothing_to_answer`). Its deliver step,
`OperatorDelivery.deliver`, first queues the reply's announcements to `[webhooks] outgoing_urls`
(`{"type": "operator_reply", ...}`, signed and retried: `OutgoingWebhooks.announce_operator_reply`), then sends it
where the conversation lives, which its id says (`adapters.http.principals`):

- `slack:<team>:<channel>:<thread ts>`: into that thread, `slack:<team>:<channel>` (a DM) at its top level, through
  `SlackReplies.send_operator_reply` (the bot's own reply path), labelled with the operator's name. A slash-command
  conversation (`slack:<team>:<channel>:user-<user>`) has no thread and its response URL expires after 30 minutes,
  so the reply goes to the user's DM with the bot (`chat.postMessage` to the user id), where it stays, unlike an
  ephemeral message. Slack down, a 429 or a 5xx is retried through the queue with backoff; a channel that does not
  exist is given up at once and recorded undelivered (`Deliveries.undelivered`).
- `discord:<channel>[:<user>]`: only `deskbot discord` holds a gateway connection, so the job is queued again under
  `DISCORD_SOURCE`, which the HTTP workers leave alone (`HTTP_SOURCES`) and the Discord client takes
  (`adapters.discord_bot.operator_replies`).
- `api:...` and `webhook:...`: nothing more is sent; the caller reads the reply from
  `GET /v1/conversations/{id}/messages` and the outgoing webhooks announce it.
- `widget:...`: nothing more is sent; the widget polls for it.

Any other id, or a job that is not an operator reply, is given up at once.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from adapters.http.deliveries import Deliveries, DeliveryFailedError, SourceFilter
from adapters.http.slack.translation import SlackTarget
from bot.types import Reply

if TYPE_CHECKING:
    from adapters.http.context import ChannelContext

log = logging.getLogger(__name__)

SOURCE = "operator"
DISCORD_SOURCE = "operator:discord"
HTTP_SOURCES = SourceFilter(excluded=frozenset({DISCORD_SOURCE}))
"""What the HTTP app's answer workers take: every job but those only the Discord client can deliver."""
PULLED_CHANNELS = ("api", "webhook", "widget")
"""Conversation kinds whose callers fetch operator replies themselves (API polling, the outgoing webhooks, the
widget)."""


@dataclass(frozen=True)
class OperatorReply:
    """One reply an operator wrote: the conversation's stored id, its channel, the stored message's id."""

    conversation_id: str
    channel: str
    message_id: int
    text: str
    operator: str

    def __post_init__(self) -> None:
        if not self.conversation_id or ":" not in self.conversation_id:
            raise ValueError(f"not a stored conversation id: {self.conversation_id!r}")
        if not self.text.strip():
            raise ValueError("an operator reply needs text")
        if not self.operator.strip():
            raise ValueError("an operator reply needs the operator's name")

    @property
    def conversation_kind(self) -> str:
        """The first part of the conversation id: `slack`, `discord`, `api`, `webhook`, `widget`."""
        return self.conversation_id.split(":", 1)[0]

    def payload(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> OperatorReply:
        """The reply a job carries; a permanent `DeliveryFailedError` for a payload that is not one."""
        try:
            reply = cls(
                conversation_id=str(payload["conversation_id"]),
                channel=str(payload["channel"]),
                message_id=int(payload["message_id"]),
                text=str(payload["text"]),
                operator=str(payload["operator"]),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise DeliveryFailedError(f"not an operator reply: {error}", permanent=True) from error
        return reply


def queue_operator_reply(
    deliveries: Deliveries, conversation_id: str, channel: str, message_id: int, text: str, operator: str
) -> bool:
    """Queue the delivery of an operator's stored reply (blocking: call it through `asyncio.to_thread`); False when
    this message was queued before. `ValueError` for a reply that cannot be one (no text, no operator, an id that
    is not a stored conversation's); `StoreError` when the queue cannot take it."""
    reply = OperatorReply(conversation_id, channel, message_id, text, operator)
    return deliveries.submit(SOURCE, delivery_id(message_id), reply.payload())


def delivery_id(message_id: int) -> str:
    """The delivery id of a stored operator reply's job: one job per message, however often it is queued."""
    return f"message:{message_id}"


def slack_target(conversation_id: str) -> SlackTarget:
    """Where an operator's reply to a Slack conversation goes (module docstring)."""
    parts = conversation_id.split(":")
    if len(parts) not in (3, 4) or parts[0] != "slack" or not parts[2]:
        raise DeliveryFailedError(f"not a Slack conversation id: {conversation_id!r}", permanent=True)
    thread = parts[3] if len(parts) == 4 else None
    if thread is not None and thread.startswith("user-"):
        return SlackTarget(channel=thread.removeprefix("user-"))
    return SlackTarget(channel=parts[2], thread_ts=thread)


class OperatorDelivery:
    """The deliver step of `operator` jobs in the HTTP app's answer workers."""

    def __init__(self, context: ChannelContext) -> None:
        self._context = context

    async def deliver(self, payload: dict[str, Any], _reply: Reply) -> None:
        reply = OperatorReply.from_payload(payload)
        context = self._context
        if context.outgoing is not None:
            await context.outgoing.announce_operator_reply(reply.payload(), context)
        kind = reply.conversation_kind
        if kind == "slack":
            await self._to_slack(reply)
        elif kind == "discord":
            await context.submit(DISCORD_SOURCE, f"message:{reply.message_id}", reply.payload())
        elif kind not in PULLED_CHANNELS:
            raise DeliveryFailedError(f"no channel delivers replies to {reply.conversation_id!r}", permanent=True)

    async def _to_slack(self, reply: OperatorReply) -> None:
        target = slack_target(reply.conversation_id)
        slack = self._context.slack
        if slack is None:
            raise DeliveryFailedError("Slack is not configured here ([slack] bot_token)", permanent=True)
        await slack.send_operator_reply(target, reply.text, reply.operator)
        log.info("operator reply %d sent to Slack %s", reply.message_id, target.channel)
