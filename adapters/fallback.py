"""Answering without ever showing a customer an exception: any failure becomes the polite canned error reply."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from bot.types import Emit, Message, Reply

if TYPE_CHECKING:
    from bot.engine import Engine
    from prompts import PromptLibrary

log = logging.getLogger(__name__)


def fallback_reply(message: Message, prompts: PromptLibrary) -> Reply:
    return Reply(text=prompts.render("error"), kind="error", conversation_id=message.conversation_id)


async def answer_safely(engine: Engine, message: Message, prompts: PromptLibrary, emit: Emit | None = None) -> Reply:
    """The engine's reply to `message`, or the canned error reply when anything in the turn fails."""
    try:
        return await engine.handle(message, emit)
    except Exception:
        log.exception("turn failed in conversation %s (channel %s)", message.conversation_id, message.channel)
        return fallback_reply(message, prompts)
