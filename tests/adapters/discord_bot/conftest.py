"""A real `DeskbotClient` fed recorded gateway payloads through discord.py's own `ConnectionState`.

Discord's REST side is faked at the request level: `FakeDiscordHttp` replaces `HTTPClient.request` (messages, edits,
threads, typing) and `FakeWebhookAdapter` replaces the adapter discord.py uses for interaction responses. Both record
what the bot sent and answer with payloads shaped like Discord's, so discord.py builds real objects from them.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import discord
import pytest
from discord.webhook.async_ import AsyncWebhookAdapter, async_context

from adapters.discord_bot.client import DeskbotClient
from bot.runtime import Runtime

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
BOT_ID = "1190000000000000001"
GUILD_ID = "1180000000000000001"
HELP_CHANNEL = 1180000000000000011


def gateway(name: str) -> dict[str, Any]:
    """The `d` of a recorded gateway event."""
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text())["d"]
    return data


@dataclass
class Request:
    method: str
    path: str
    json: dict[str, Any] | None


@dataclass
class FakeDiscordHttp:
    bot_user: dict[str, Any]
    requests: list[Request] = field(default_factory=list)
    failures: list[tuple[str, str, int]] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1180000000009000001))

    def fail_next(self, method: str, path_part: str, status: int) -> None:
        self.failures.append((method, path_part, status))

    def sent(self, method: str, path_part: str = "") -> list[Request]:
        return [r for r in self.requests if r.method == method and path_part in r.path]

    def _message(self, channel_id: str, message_id: str, body: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": message_id,
            "channel_id": channel_id,
            "type": 0,
            "content": body.get("content") or "",
            "author": self.bot_user,
            "attachments": [],
            "embeds": [],
            "mentions": [],
            "mention_roles": [],
            "mention_everyone": False,
            "pinned": False,
            "tts": False,
            "timestamp": "2026-11-23T19:30:02.000000+00:00",
            "edited_timestamp": None,
            "flags": 0,
            "components": body.get("components") or [],
        }

    async def request(self, route: Any, **kwargs: Any) -> Any:
        body = kwargs.get("json")
        if body is None and kwargs.get("form"):
            body = json.loads(kwargs["form"][0]["value"])
        self.requests.append(Request(route.method, _path(route), body))
        for failure in list(self.failures):
            method, part, status = failure
            if route.method == method and part in _path(route):
                self.failures.remove(failure)
                response = SimpleNamespace(status=status, reason="Forbidden" if status == 403 else "Too Many Requests")
                raise discord.HTTPException(response, {"message": "scripted failure", "code": 50013})  # type: ignore[arg-type]
        path = _path(route)
        parts = path.strip("/").split("/")
        if route.method == "POST" and path.endswith("/typing"):
            return None
        if route.method == "POST" and parts[-1] == "threads":
            return thread_payload(
                str(next(self._ids)), parts[1], self.bot_user["id"], (body or {}).get("name", "thread")
            )
        if route.method == "POST" and parts[-1] == "messages":
            return self._message(parts[1], str(next(self._ids)), body or {})
        if route.method == "PATCH" and parts[-2] == "messages":
            return self._message(parts[1], parts[-1], body or {})
        if route.method == "DELETE":
            return None
        if route.method == "PUT" and "commands" in path:
            return []
        raise AssertionError(f"unexpected Discord request {route.method} {path}")


def thread_payload(thread_id: str, parent_id: str, owner_id: str, name: str) -> dict[str, Any]:
    """A thread as Discord's API returns it (THREAD_CREATE and POST .../threads have this shape)."""
    return {
        "id": thread_id,
        "type": 11,
        "guild_id": GUILD_ID,
        "parent_id": parent_id,
        "owner_id": owner_id,
        "name": name,
        "last_message_id": None,
        "rate_limit_per_user": 0,
        "message_count": 0,
        "member_count": 1,
        "flags": 0,
        "thread_metadata": {
            "archived": False,
            "auto_archive_duration": 1440,
            "archive_timestamp": "2026-11-23T19:30:01.000000+00:00",
            "locked": False,
        },
    }


def _path(route: Any) -> str:
    return str(route.url).split("/api/v10", 1)[-1]


class FakeWebhookAdapter(AsyncWebhookAdapter):
    """Interaction callbacks and follow-ups, recorded instead of sent."""

    def __init__(self, bot_user: dict[str, Any]) -> None:
        super().__init__()
        self.bot_user = bot_user
        self.requests: list[Request] = []

    async def request(self, route: Any, session: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        payload = kwargs.get("payload")
        if payload is None and kwargs.get("multipart"):
            payload = json.loads(kwargs["multipart"][0]["value"])
        path = _path(route)
        self.requests.append(Request(route.method, path, payload))
        if path.endswith("/callback"):
            interaction_id = path.split("/")[2]
            return {"interaction": {"id": interaction_id, "type": 2, "response_message_loading": True}}
        return FakeDiscordHttp(self.bot_user)._message("0", "1180000000009999999", payload or {})


@dataclass
class DiscordHarness:
    client: DeskbotClient
    http: FakeDiscordHttp
    webhooks: FakeWebhookAdapter

    @property
    def state(self) -> Any:
        return self.client._connection

    def message(self, fixture: str, **changes: Any) -> discord.Message:
        """A real `discord.Message`, built by discord.py from a recorded MESSAGE_CREATE payload (with `changes`)."""
        data = {**gateway(fixture), **changes}
        channel, _guild = self.state._get_guild_channel(data)
        return discord.Message(state=self.state, channel=channel, data=data)

    async def dispatch(self, fixture: str) -> None:
        """Feed a recorded gateway event through discord.py's parser, as the gateway would, and let handlers run."""
        event = json.loads((FIXTURES / fixture).read_text())
        getattr(self.state, "parse_" + event["t"].lower())(event["d"])
        ignored = {asyncio.current_task(), self.state._ready_task}
        for _ in range(500):
            await asyncio.sleep(0.01)
            if not [task for task in asyncio.all_tasks() if task not in ignored]:
                return


@pytest.fixture
async def discord_harness(runtime: Runtime) -> AsyncIterator[DiscordHarness]:
    runtime.settings.discord.channels = [HELP_CHANNEL]
    runtime.settings.discord.edit_interval_s = 0.2
    runtime.settings.discord.sync_commands = False
    client = DeskbotClient(runtime.adapter_context(), guild_ready_timeout=0.0)
    bot_user = gateway("discord_ready.json")["user"]
    http = FakeDiscordHttp(bot_user)
    client.http.request = http.request  # type: ignore[method-assign]
    await client._async_setup_hook()
    await client.setup_hook()
    webhooks = FakeWebhookAdapter(bot_user)
    token = async_context.set(webhooks)
    client._connection.parse_ready(gateway("discord_ready.json"))
    client._connection.parse_guild_create(gateway("discord_guild_create.json"))
    yield DiscordHarness(client, http, webhooks)
    await client.deliveries.stop()
    async_context.reset(token)
    if client._connection._ready_task is not None:
        client._connection._ready_task.cancel()
    await client.http.close()
