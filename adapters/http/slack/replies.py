"""Sending replies to Slack with slack_sdk's `AsyncWebClient` (base URL from `[slack] api_url`).

A reply is posted in the conversation's thread, with its sources and buttons (good / bad answer, talk to a person).
Rate limits (429) are retried after Retry-After by slack_sdk's own retry handler; any other API error is logged —
the customer is never shown it, and the request that triggered the reply was acknowledged long ago.
"""

from __future__ import annotations

import logging
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from adapters.http.slack.translation import SlackTarget, slack_action_id
from adapters.splitting import split_message
from bot.presentation import actions_for, source_lines
from bot.types import Reply

log = logging.getLogger(__name__)

SECTION_LIMIT = 3000


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

    async def send(self, target: SlackTarget, reply: Reply) -> bool:
        """Post `reply` where `target` says; False (and a log line) when Slack refused it."""
        if reply.kind == "silent" or not reply.text:
            return True
        session, client = self._connected()
        try:
            if target.response_url:
                webhook = AsyncWebhookClient(
                    target.response_url, session=session, retry_handlers=list(self._retry_handlers)
                )
                response = await webhook.send(text=reply.text, blocks=reply_blocks(reply), response_type="ephemeral")
                if response.status_code >= 300:
                    log.error("Slack response_url refused the reply: HTTP %s", response.status_code)
                    return False
                return True
            await client.chat_postMessage(
                channel=target.channel, thread_ts=target.thread_ts, text=reply.text, blocks=reply_blocks(reply)
            )
            return True
        except SlackApiError as error:
            log.error("Slack refused the reply in %s: %s", target.channel, error.response.get("error", "unknown"))
        except (SlackClientError, OSError) as error:
            log.error("cannot reach Slack to reply in %s: %s", target.channel, error.__class__.__name__)
        return False

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = self._client = None
