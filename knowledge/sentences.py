"""Sentences of any text: the units an answer is composed of, a stream is released by and an instruction is looked
for in.

A unit is a sentence, a list item, a table row or a `field: value` line. Lines are cut first (a line break ends a
unit, so list items, table rows and `字段：值` lines stand alone), then sentences inside a line: after `.`, `!` or `?`
followed by a space and anything but a lower-case Latin letter (an upper-case letter, a digit, a quote, a bracket, a
tag, a symbol, a Chinese character; so "e.g. the", "3.5" and "U.S. law" stay whole), and after Chinese or Japanese
`。！？；` wherever they stand. List markers ("- ", "* ", "1. ", "a) ": `LIST_MARKER`, the one definition of a list
item) and table pipes are kept: the unit is shown to the customer verbatim.

Streamed text is cut by the same rule (`sentence_spans`, `leading_sentences`): a unit is complete once the next one
has begun, and citation marks ("[1]", "[1][2]", "[1, 3]", also unfinished: "[1") belong to the sentence before them,
so "It lasts 2 years. [1] Keep it" is complete up to "[1]".
"""

from __future__ import annotations

import re
from itertools import pairwise

_LINE_BREAK = re.compile(r"\s*\n\s*")
_ABBREVIATION_LIST = "e.g i.e etc vs mr mrs ms dr prof st no nos fig approx dept inc ltd co corp jr sr u.s u.k a.m p.m"
_ABBREVIATIONS = frozenset(_ABBREVIATION_LIST.split())
_LATIN_END = re.compile(r"(?:(?<=[.!?])|(?<=[.!?][\"')\]]))\s+(?=[^\sa-z])")
_CJK_END = re.compile(r"(?<=[。！？；!?])(?![。！？；!?」』）”])\s*")
_LIST_NUMBER = r"\(?(?:\d{1,3}|[A-Za-z])[.)]"
LIST_MARKER = re.compile(rf"\s*(?:[-*•·]|{_LIST_NUMBER})(?=\s)")
"""A list item's marker at the start of a unit: a bullet or an item number/letter, followed by white space."""
_ONLY_LIST_NUMBER = re.compile(_LIST_NUMBER)
_LAST_WORD = re.compile(r"([A-Za-z][A-Za-z.]*)\.$")
_MARKS_ONLY = re.compile(r"(?:[\[【][\d,\s]*[\]】]?\s*)+")  # a unit of citation marks, the last one maybe unfinished
_LEADING_MARKS = re.compile(r"\s*(?:\[\d+(?:,\s*\d+)*\]|【\d+】)+")


def _ends_abbreviation(piece: str) -> bool:
    """Whether `piece` ends in an abbreviation ("e.g.") or is only a list number ("1.")."""
    if _ONLY_LIST_NUMBER.fullmatch(piece.strip()):
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


def is_list_item(unit: str) -> bool:
    return LIST_MARKER.match(unit) is not None


def without_list_marker(unit: str) -> str:
    """The unit's text after its list marker ("- Tap Reset" -> "Tap Reset"), stripped."""
    return LIST_MARKER.sub("", unit, count=1).strip()


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) offsets of the units of `text`, in order, each with the citation marks that follow it."""
    spans: list[tuple[int, int]] = []
    position = 0
    for unit in sentences(text):
        start = text.index(unit, position)
        end = position = start + len(unit)
        if spans and _MARKS_ONLY.fullmatch(unit):
            spans[-1] = (spans[-1][0], end)
            continue
        marks = _LEADING_MARKS.match(text, spans[-1][1]) if spans else None
        if marks is not None and marks.end() > start:  # "[1] Next ..." is one unit to the splitter
            spans[-1] = (spans[-1][0], marks.end())
            after = text[marks.end() : end]
            start = end - len(after.lstrip())
        spans.append((start, end))
    return spans


def leading_sentences(text: str) -> tuple[list[str], str]:
    """(the complete units at the start of streamed `text`, each with the white space after it; the unfinished
    rest): a unit is complete once the next one has begun."""
    spans = sentence_spans(text)
    if len(spans) < 2:
        return [], text
    starts = [start for start, _ in spans]
    complete = [text[start:following] for start, following in pairwise(starts)]
    complete[0] = text[: starts[1]]  # white space before the first unit goes with it
    return complete, text[starts[-1] :]
