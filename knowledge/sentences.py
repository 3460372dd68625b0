"""Sentences of any text: the units an answer is composed of and an instruction is looked for in.

A unit is a sentence, a list item, a table row or a `field: value` line. Lines are cut first (a line break ends a
unit, so list items, table rows and `字段：值` lines stand alone), then sentences inside a line: after `.`, `!` or `?`
followed by a space and anything but a lower-case Latin letter (an upper-case letter, a digit, a quote, a bracket, a
tag, a symbol, a Chinese character; so "e.g. the", "3.5" and "U.S. law" stay whole), and after Chinese or Japanese
`。！？；` wherever they stand. List markers ("- ", "* ", "1. ") and table pipes are kept: the unit is shown to the
customer verbatim.
"""

from __future__ import annotations

import re

_LINE_BREAK = re.compile(r"\s*\n\s*")
_ABBREVIATION_LIST = "e.g i.e etc vs mr mrs ms dr prof st no nos fig approx dept inc ltd co corp jr sr u.s u.k a.m p.m"
_ABBREVIATIONS = frozenset(_ABBREVIATION_LIST.split())
_LATIN_END = re.compile(r"(?:(?<=[.!?])|(?<=[.!?][\"')\]]))\s+(?=[^\sa-z])")
_CJK_END = re.compile(r"(?<=[。！？；!?])(?![。！？；!?」』）”])\s*")
_LIST_NUMBER = re.compile(r"\(?\d{1,3}[.)]|[A-Za-z][.)]")
_LAST_WORD = re.compile(r"([A-Za-z][A-Za-z.]*)\.$")


def _ends_abbreviation(piece: str) -> bool:
    """Whether `piece` ends in an abbreviation ("e.g.") or is only a list number ("1.")."""
    if _LIST_NUMBER.fullmatch(piece.strip()):
        return True
    found = _LAST_WORD.search(piece)
    return found is not None and found.group(1).lower() in _ABBREVIATIONS


def _split_latin(line: str) -> list[str]:
    pieces: list[str] = []
    start = 0
    for end in _LATIN_END.finditer(line):
        if _ends_abbreviation(line[: end.start()].rstrip("\"')]")):
            continue
        pieces.append(line[start : end.start()].strip())
        start = end.end()
    pieces.append(line[start:].strip())
    return [piece for piece in pieces if piece]


def sentences(text: str) -> list[str]:
    """The units of `text` in order: sentences, list items, table rows and lines, stripped, none empty."""
    units: list[str] = []
    for line in _LINE_BREAK.split(text.strip()):
        for clause in _CJK_END.split(line):
            units.extend(_split_latin(clause))
    return units


def complete_sentences(text: str) -> tuple[str, str]:
    """(the complete units at the start of streamed `text`, the unfinished rest): a unit is complete once the next
    one has begun."""
    units = sentences(text)
    if len(units) < 2:
        return "", text
    cut = text.rindex(units[-1])
    return text[:cut], text[cut:]
