"""Masking personal data before text is stored, logged or trained on: e-mail addresses, card numbers (Luhn-checked),
phone numbers, mainland Chinese mobile numbers and 18-digit resident ID numbers (with their check digit)."""

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
# Mainland China: 11-digit mobile numbers (1[3-9]...), usually written without separators, optionally +86.
CN_MOBILE = re.compile(r"(?<![\d+])(?:\+?86[ -]?)?1[3-9]\d(?:[ -]?\d{4}){2}(?!\d)")
# Resident identity card: 17 digits and a check character (a digit or X), birth date inside.
CN_RESIDENT_ID = re.compile(
    r"(?<![0-9A-Za-z])\d{6}(?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx](?![0-9A-Za-z])"
)
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def _resident_id_ok(number: str) -> bool:
    """The ISO 7064 MOD 11-2 check character of a Chinese resident ID number."""
    total = sum(int(digit) * weight for digit, weight in zip(number[:17], _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11] == number[17].upper()


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
    """`text` with emails, ID numbers, card numbers and phone numbers replaced by [EMAIL], [ID], [CARD], [PHONE]."""
    replaced = 0

    def resident_id(match: re.Match[str]) -> str:
        nonlocal replaced
        if _resident_id_ok(match.group()):
            replaced += 1
            return "[ID]"
        return match.group()

    def mobile(match: re.Match[str]) -> str:
        nonlocal replaced
        replaced += 1
        return "[PHONE]"

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
    text = CN_RESIDENT_ID.sub(resident_id, text)  # before cards: 18 digits can pass Luhn by chance
    text = CN_MOBILE.sub(mobile, text)
    text = CARD.sub(card, text)
    text = PHONE.sub(phone, text)
    return Scrubbed(text, replaced)


def redact(text: str) -> str:
    """`text` with e-mail addresses, ID, card and phone numbers replaced by placeholders."""
    return scrub_pii(text).text


def redact_message(message: Message, guard: GuardSettings) -> Message:
    """`message` with its text redacted when `[guard] redact_pii` is on, else unchanged: what may be stored of it
    (the guard stage, and the channels that queue a message before the engine sees it)."""
    return replace(message, text=redact(message.text)) if guard.redact_pii else message
