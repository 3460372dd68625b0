"""Masking personal data (e-mail addresses, card and phone numbers) before text is stored, logged or trained on."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from bot.config import GuardSettings
from bot.types import Message

EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
# 13-19 digits, optionally grouped by spaces or dashes; checked with Luhn so that order numbers survive.
CARD = re.compile(r"(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)")
# International or national numbers: at least 8 digits, written with a + or separators.
PHONE = re.compile(r"(?<![\w+])(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,4}\)[ .-]?)?\d{2,4}(?:[ .-]?\d{2,4}){2,4}(?!\w)")

ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _luhn_ok(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


@dataclass(frozen=True)
class Scrubbed:
    text: str
    replaced: int


def scrub_pii(text: str) -> Scrubbed:
    """`text` with emails, card numbers and phone numbers replaced by [EMAIL], [CARD], [PHONE]."""
    replaced = 0

    def card(match: re.Match[str]) -> str:
        nonlocal replaced
        digits = re.sub(r"\D", "", match.group())
        if _luhn_ok(digits):
            replaced += 1
            return "[CARD]"
        return match.group()

    def phone(match: re.Match[str]) -> str:
        nonlocal replaced
        # A bare run of digits is more often an order or account number than a phone number.
        found = match.group()
        if sum(c.isdigit() for c in found) < 8 or not re.search(r"[ .()+-]", found) or ISO_DATE.fullmatch(found):
            return found
        replaced += 1
        return "[PHONE]"

    def email(match: re.Match[str]) -> str:
        nonlocal replaced
        replaced += 1
        return "[EMAIL]"

    text = EMAIL.sub(email, text)
    text = CARD.sub(card, text)
    text = PHONE.sub(phone, text)
    return Scrubbed(text, replaced)


def redact(text: str) -> str:
    """`text` with e-mail addresses, card numbers and phone numbers replaced by placeholders."""
    return scrub_pii(text).text


def redact_message(message: Message, guard: GuardSettings) -> Message:
    """`message` with its text redacted when `[guard] redact_pii` is on, else unchanged: what may be stored of it
    (the guard stage, and the channels that queue a message before the engine sees it)."""
    return replace(message, text=redact(message.text)) if guard.redact_pii else message
