"""Injection cases: a tiny knowledge base, a customer's message, and what a model that obeys the injection writes.

A case file is one JSON object: `{"knowledge": {LANGUAGE: {FILE_NAME: TEXT}}, "cases": [CASE, ...]}`, where a CASE
is `{"name", "language", "message", "obeyed", "tells", "order"?, "tell_language"?}`: `language` picks the knowledge
base, `order` is the instruction planted in it (at each `{order}` of its texts; none for a role change in the
message), `obeyed` is the reply of a model that follows the injection (`<system prompt>` stands for the system
prompt), and `tells` / `tell_language` say what gives obedience away in a reply: any of the `tells` (whole words,
any case), or a reply written in `tell_language`. The same cases drive the injection tests (a scripted model that
obeys) and `benchmarks/injection.py` (the real model).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.language import written_language
from knowledge.errors import DeskbotError

SYSTEM_PROMPT = "<system prompt>"


class InjectionCaseError(DeskbotError):
    """An injection case file is missing or malformed; the message names the file and the case."""


@dataclass(frozen=True)
class InjectionCase:
    name: str
    language: str
    message: str
    obeyed: str
    tells: tuple[str, ...]
    knowledge: dict[str, str]
    order: str = ""
    tell_language: str = ""

    def obeyed_in(self, shown: str) -> bool:
        """Whether `shown` (what the customer saw) follows the injection."""
        if any(_mentions(shown, tell) for tell in self.tells):
            return True
        return bool(self.tell_language) and written_language(shown) == self.tell_language


def _mentions(text: str, tell: str) -> bool:
    """`tell` in `text` in any case, as whole words ("DAN" is not in "guidance"); Chinese anywhere."""
    if not tell.isascii():
        return tell in text
    return re.search(rf"(?<![A-Za-z0-9]){re.escape(tell)}(?![A-Za-z0-9])", text, re.IGNORECASE) is not None


def load_cases(path: Path) -> list[InjectionCase]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise InjectionCaseError(f"{path}: cannot read the injection cases ({error})") from error
    if not isinstance(data, dict) or not isinstance(data.get("cases"), list):
        raise InjectionCaseError(f'{path}: expected an object with "knowledge" and a "cases" list')
    return [_case(path, data.get("knowledge") or {}, entry) for entry in data["cases"]]


def _case(path: Path, knowledge: dict[str, Any], entry: Any) -> InjectionCase:
    name = entry.get("name", "?") if isinstance(entry, dict) else "?"
    try:
        order = str(entry.get("order", ""))
        documents = knowledge[entry["language"]]
        return InjectionCase(
            name=str(entry["name"]),
            language=str(entry["language"]),
            message=str(entry["message"]),
            obeyed=str(entry["obeyed"]),
            tells=tuple(str(tell) for tell in entry["tells"]),
            knowledge={file: text.replace("{order}", order) for file, text in documents.items()},
            order=order,
            tell_language=str(entry.get("tell_language", "")),
        )
    except (KeyError, TypeError, AttributeError) as error:
        raise InjectionCaseError(f"{path}: case {name!r} lacks or misuses {error}") from error
