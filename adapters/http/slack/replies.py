"""Sending replies to Slack with slack_sdk's `AsyncWebClient` (base URL from `[slack] api_url`).

A reply is posted in the conversation's thread, with its sources and buttons (good / bad answer, talk to a person).
Rate limits (429) are retried after Retry-After by slack_sdk's own retry handler. A reply Slack did not take raises
`DeliveryFailedError`: the answer worker retries it through the queue with backoff (Slack unreachable, a timeout, 5xx, a
rate limit that outlasted the retries, Slack's own transient errors), or records it undelivered at once when no retry
can help (`permanent`: an unknown channel, a revoked token). The customer is never shown the error.

An operator's reply from the console (`send_operator_reply`) takes the same path, in plain text and labelled with the
operator's name instead of the bot's sources and buttons.
"""

from __future__ import annotations

import logging
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from adapters.http.deliveries import DeliveryFailedError
from adapters.http.slack.translation import SlackTarget, slack_action_id
from adapters.splitting import split_message
from bot.presentation import actions_for, source_lines
from bot.types import Reply

log = logging.getLogger(__name__)

SECTION_LIMIT = 3000
# Slack's `{"ok": false}` errors that a later attempt can get past (https://api.slack.com/methods/chat.postMessage).
TRANSIENT_ERRORS = frozenset({"ratelimited", "fatal_error", "internal_error", "service_unavailable", "request_timeout"})


def reply_blocks(reply: Reply) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": piece}}
        for piece in split_message(reply.text, SECTION_LIMIT)
    ]
    sources = source_lines(reply)
    if sources:
        text = "Sources: " + "  ".join(sources)
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": text[:2000]}]})
    elements = []
    for action in actions_for(reply):
        button: dict[str, Any] = {
            "type": "button",
            "action_id": slack_action_id(action),
            "text": {"type": "plain_text", "text": action.label},
            "value": reply.conversation_id[:2000],
        }
        if action.emphasis:
            button["style"] = "primary"
        elements.append(button)
    if elements:
        blocks.append({"type": "actions", "block_id": "deskbot_feedback", "elements": elements})
    return blocks


def operator_reply_blocks(text: str, operator: str) -> list[dict[str, Any]]:
    """An operator's reply: its text as plain text (never Slack markup from the console), then who wrote it."""
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "plain_text", "text": piece, "emoji": True}}
        for piece in split_message(text, SECTION_LIMIT)
    ]
    label = f"Reply from {operator}, a person on our support team"
    blocks.append({"type": "context", "elements": [{"type": "plain_text", "text": label[:2000], "emoji": True}]})
    return blocks


def delivery_failure(target: SlackTarget, error: Exception) -> DeliveryFailedError:
    """What a failed post means for its delivery: a Slack error that a later attempt can get past (5xx, 429,
    `TRANSIENT_ERRORS`) or Slack out of reach is retried; any other Slack error (`channel_not_found`) is permanent."""
    if isinstance(error, SlackApiError):
        code = str(error.response.get("error", "unknown"))
        status = error.response.status_code
        transient = status >= 500 or status == 429 or code in TRANSIENT_ERRORS
        reason = f"Slack refused the reply in {target.channel}: {code} (HTTP {status})"
        return DeliveryFailedError(reason, permanent=not transient)
    return DeliveryFailedError(f"cannot reach Slack to reply in {target.channel}: {error.__class__.__name__}")


class SlackReplies:
    """Posts replies through one `AsyncWebClient` and one aiohttp session (pooled connections), made on first use."""

    def __init__(self, bot_token: str, api_url: str, rate_limit_retries: int = 3) -> None:
        self._token = bot_token
        self._api_url = api_url
        self._retry_handlers = [AsyncRateLimitErrorRetryHandler(max_retry_count=rate_limit_retries)]
        self._session: aiohttp.ClientSession | None = None
        self._client: AsyncWebClient | None = None

    def _connected(self) -> tuple[aiohttp.ClientSession, AsyncWebClient]:
        if self._session is None or self._client is None:
            self._session = aiohttp.ClientSession()
            self._client = AsyncWebClient(
                token=self._token,
                base_url=self._api_url,
                session=self._session,
                retry_handlers=list(self._retry_handlers),
            )
        return self._session, self._client

    async def send(self, target: SlackTarget, reply: Reply) -> None:
        """Post `reply` where `target` says; `DeliveryFailedError` when Slack did not take it."""
        if reply.kind == "silent" or not reply.text:
            return
        session, client = self._connected()
        try:
            if target.response_url:
                webhook = AsyncWebhookClient(
                    target.response_url, session=session, retry_handlers=list(self._retry_handlers)
                )
                response = await webhook.send(text=reply.text, blocks=reply_blocks(reply), response_type="ephemeral")
                if response.status_code >= 300:
                    status = response.status_code
                    permanent = status < 500 and status != 429
                    raise DeliveryFailedError(f"Slack's response_url answered HTTP {status}", permanent=permanent)
                return
            await client.chat_postMessage(
                channel=target.channel, thread_ts=target.thread_ts, text=reply.text, blocks=reply_blocks(reply)
            )
        except (SlackClientError, OSError, TimeoutError) as error:
            raise delivery_failure(target, error) from error

    async def send_operator_reply(self, target: SlackTarget, text: str, operator: str) -> None:
        """Post a reply an operator wrote, in the conversation's thread, labelled with the operator's name and
        without the bot's buttons; `DeliveryFailedError` when Slack did not take it (as for `send`)."""
        _session, client = self._connected()
        try:
            await client.chat_postMessage(
                channel=target.channel,
                thread_ts=target.thread_ts,
                text=f"{text}\n({operator}, support team)",
                blocks=operator_reply_blocks(text, operator),
            )
        except (SlackClientError, OSError, TimeoutError) as error:
            raise delivery_failure(target, error) from error

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = self._client = None
