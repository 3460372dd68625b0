"""One in-process app for a whole fuzz module: the fast runtime (HashEmbedder + FakeLLM), a signing secret for the Slack
routes and one for the incoming webhook, no bot token and no outgoing webhooks (what was queued is answered, nothing
is posted anywhere, so fuzzed `response_url`s are never called). Building an app loads the sample knowledge, so the
fuzz modules share one instead of one per test.

The ASGI transport does not raise what the app raises: a crash is a 500 response, as a real server would send it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from pydantic import SecretStr

from adapters.http.app import build_context, create_app
from adapters.http.context import ChannelContext
from bot.config import load_settings
from bot.llm.fake import FakeLLM
from bot.plugins import PluginRegistry
from bot.runtime import Runtime
from tests.adapters.http.conftest import SIGNING_SECRET

WEBHOOK_SECRET = "webhook-fuzz-secret"


@asynccontextmanager
async def fuzz_client(data_dir: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings = load_settings(data_dir=data_dir)
    settings.knowledge.embedder = "hash"
    settings.knowledge.embedder_model = "hash-256"
    settings.llm.backend = "fake"
    settings.slack.signing_secret = SecretStr(SIGNING_SECRET)
    settings.webhooks.secret = SecretStr(WEBHOOK_SECRET)
    registry = PluginRegistry()
    registry.register("llm", "fake", lambda _settings: FakeLLM())
    app = create_app(build_context(Runtime(settings, registry).adapter_context()))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://deskbot.test") as client:
            client.app = app  # type: ignore[attr-defined]
            yield client


def context_of(client: httpx.AsyncClient) -> ChannelContext:
    context: ChannelContext = client.app.state.deskbot  # type: ignore[attr-defined]
    return context
