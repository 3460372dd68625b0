"""The language a reply should be in: the customer's stated one (profile `language`), else the message's own."""

from __future__ import annotations

from collections.abc import Mapping

from bot.types import Message
from knowledge.text import language_of
from prompts import language_code


def reply_language(message: Message, profile: Mapping[str, str] | None = None) -> str:
    """A language code ("zh", "en", ...): `profile["language"]` (loaded, or passed by the adapter in
    `message.metadata["profile"]`) when there is one, else what the message's script says."""
    given = message.metadata.get("profile")
    for facts in (profile, given if isinstance(given, Mapping) else None):
        if facts and str(facts.get("language") or "").strip():
            return language_code(str(facts["language"]))
    return language_of(message.text)
