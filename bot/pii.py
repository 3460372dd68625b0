"""Masking personal data before text is stored, logged or trained on: e-mail addresses, card numbers (Luhn-checked),
phone numbers, mainland Chinese mobile numbers and 18-digit resident ID numbers (with their check digit).

`[guard] redact_pii` (on by default) masks a customer's message before anything stores, queues, searches or answers
it (`redact_message`), and `redact_logged_text` masks every log record the process makes, whatever handler writes it
(its message with the arguments filled in, and its traceback: a database error quotes the values it failed to write).

Patterns are matched on a folded copy of the text in which full-width digits, Latin letters and the signs numbers and
addresses are written with (`１３８`, `＠`, `．`, `－`, `＋`, the ideographic space) read as their ASCII forms, one
character for one, so a match's span is the same in the original; only the matched spans are replaced, and the rest
of the text (full-width punctuation included) is kept as written. A number may touch Chinese characters
("座机010-62345678"): only Latin letters and digits around it make it part of a longer word.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from bot.config import GuardSettings
from bot.types import Message

EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
# 13-19 digits, optionally grouped by spaces or dashes; checked with Luhn so that order numbers survive.
CARD = re.compile(r"(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)")
# International or national numbers: at least 8 digits, written with a + or separators.
PHONE = re.compile(
    r"(?<![A-Za-z0-9_+])(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,4}\)[ .-]?)?\d{2,4}(?:[ .-]?\d{2,4}){2,4}(?![A-Za-z0-9_])"
)

ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# Mainland China: 11-digit mobile numbers (1[3-9]...), usually written without separators, optionally +86.
CN_MOBILE = re.compile(r"(?<![\d+])(?:\+?86[ -]?)?1[3-9]\d(?:[ -]?\d{4}){2}(?!\d)")
# Resident identity card: 17 digits and a check character (a digit or X), birth date inside.
CN_RESIDENT_ID = re.compile(
    r"(?<![0-9A-Za-z])\d{6}(?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx](?![0-9A-Za-z])"
)
_FULL_WIDTH: dict[int, int | str] = {
    **{0xFF10 + n: ord("0") + n for n in range(10)},
    **{0xFF21 + n: ord("A") + n for n in range(26)},
    **{0xFF41 + n: ord("a") + n for n in range(26)},
    0xFF20: "@",
    0xFF0E: ".",
    0xFF0D: "-",
    0xFF0B: "+",
    0xFF08: "(",
    0xFF09: ")",
    0xFF3F: "_",
    0xFF05: "%",
    0x3000: " ",
}
"""Full-width forms to their ASCII twins, one character each (so spans in the folded text are spans of the original)."""
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
        separators = re.sub(r"\d", "", found)
        if sum(c.isdigit() for c in found) < 8 or not separators or ISO_DATE.fullmatch(found):
            return found
        if separators == ".":  # one dot is a decimal number (a Slack message's ts, a price), not a phone number
            return found
        replaced += 1
        return "[PHONE]"

    def email(match: re.Match[str]) -> str:
        nonlocal replaced
        replaced += 1
        return "[EMAIL]"

    folded = text.translate(_FULL_WIDTH)
    for pattern, replace_match in (
        (EMAIL, email),
        (CN_RESIDENT_ID, resident_id),  # before cards: 18 digits can pass Luhn by chance
        (CN_MOBILE, mobile),
        (CARD, card),
        (PHONE, phone),
    ):
        text, folded = _substitute(pattern, replace_match, text, folded)
    return Scrubbed(text, replaced)


def _substitute(
    pattern: re.Pattern[str], replace_match: Callable[[re.Match[str]], str], text: str, folded: str
) -> tuple[str, str]:
    """Replace `pattern`'s matches in the folded text, and the same spans of the original, by `replace_match`'s
    result (a match it returns unchanged keeps the original's characters)."""
    original_parts: list[str] = []
    folded_parts: list[str] = []
    start = 0
    for match in pattern.finditer(folded):
        replacement = replace_match(match)
        if replacement == match.group():
            continue
        original_parts += [text[start : match.start()], replacement]
        folded_parts += [folded[start : match.start()], replacement]
        start = match.end()
    if not original_parts:
        return text, folded
    return "".join([*original_parts, text[start:]]), "".join([*folded_parts, folded[start:]])


def redact(text: str) -> str:
    """`text` with e-mail addresses, ID, card and phone numbers replaced by placeholders."""
    return scrub_pii(text).text


def redact_message(message: Message, guard: GuardSettings) -> Message:
    """`message` with its text redacted when `[guard] redact_pii` is on, else unchanged: what may be stored of it
    (the guard stage, and the channels that queue a message before the engine sees it)."""
    return replace(message, text=redact(message.text)) if guard.redact_pii else message


def redact_logged_text() -> None:
    """Mask personal data in every log record made from now on in this process (installed once; see the module)."""
    factory = logging.getLogRecordFactory()
    if not isinstance(factory, _RedactingRecordFactory):
        logging.setLogRecordFactory(_RedactingRecordFactory(factory))


class _RedactingRecordFactory:
    """Makes log records as `make_record` does, then masks their message and traceback."""

    def __init__(self, make_record: Callable[..., logging.LogRecord]) -> None:
        self._make_record = make_record

    def __call__(self, *args: Any, **kwargs: Any) -> logging.LogRecord:
        record = self._make_record(*args, **kwargs)
        message = record.getMessage()
        masked = redact(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and record.exc_info[0] is not None:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        return record
