"""Words of any text: the one place Deskbot cuts text into words (BM25, topic words, shingles, metrics).

Text is read as runs of one kind of script. Han characters (Chinese) are segmented into words with jieba, a
dictionary-based Chinese segmenter; other scripts written without spaces (Japanese kana, Thai, Lao, Khmer, Myanmar)
fall back to overlapping character pairs; everything else is split by the caller's own word pattern, exactly as it
was before this layer existed, so English text gives the same words as ever. Mixed text ("Nimbus Thermo 怎么重置")
gives the words of each run in order. Punctuation (full-width included) is never a word.

Words are matched in Unicode's compatibility form (NFKC): full-width digits and letters ("０-９", "ＡＢＣ"), the
full-width space and compatibility characters read as their plain forms, so "订单１２３" and "订单123" share their
words. Only the words are normalised; stored and displayed text is never altered.

`language_of` tells the language of a text by its scripts (no statistical detector ships offline): each script's
letters are counted (a Han, kana or Thai character counts as a word of its own, spaced scripts by their words) and
the script with the most wins; text with no letters at all is "und" (undetermined, as in BCP 47).
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Callable
from functools import lru_cache

HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ebef"
UNSPACED = "\u3040-\u30ff\u31f0-\u31ff\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff"
"""Kana, Thai and Lao, Myanmar, Khmer: scripts written without spaces between words (besides Han)."""

DEFAULT_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_RUNS = re.compile(f"([{HAN}]+)|([{UNSPACED}]+)")
_HAN_CHAR = re.compile(f"[{HAN}]")
_IS_WORD = re.compile(r"[^\W_]", re.UNICODE)


@lru_cache(maxsize=1)
def _segment_chinese() -> Callable[[str], list[str]]:
    import jieba

    jieba.setLogLevel(logging.WARNING)  # it announces loading its dictionary on every start otherwise
    segment: Callable[[str], list[str]] = jieba.Tokenizer().lcut
    return segment


def _pairs(run: str) -> list[str]:
    return [run] if len(run) < 2 else [run[i : i + 2] for i in range(len(run) - 1)]


def words(text: str, pattern: re.Pattern[str] = DEFAULT_WORD) -> list[str]:
    """The words of `text` in order: `pattern`'s matches outside unspaced scripts, segmented words inside them."""
    text = matching_form(text)
    if not _RUNS.search(text):
        return pattern.findall(text)
    found: list[str] = []
    start = 0
    for run in _RUNS.finditer(text):
        found.extend(pattern.findall(text[start : run.start()]))
        if run.group(1):
            found.extend(word for word in _segment_chinese()(run.group(1)) if _IS_WORD.search(word))
        else:
            found.extend(_pairs(run.group(2)))
        start = run.end()
    found.extend(pattern.findall(text[start:]))
    return found


def matching_form(text: str) -> str:
    """`text` as words are matched: NFKC, so full-width forms ("１２３", "ＡＢＣ", "　") read as plain ones."""
    return text if text.isascii() else unicodedata.normalize("NFKC", text)


UNDETERMINED = "und"
_SCRIPT_LETTERS = (
    ("ja", "\u3040-\u30ff\u31f0-\u31ff", True),  # kana (Japanese also writes Han: see language_of)
    ("zh", HAN, True),
    ("th", "\u0e00-\u0e7f", True),
    ("ko", "\u1100-\u11ff\u3130-\u318f\uac00-\ud7af", False),
    ("ru", "\u0400-\u04ff", False),
    ("el", "\u0370-\u03ff", False),
    ("he", "\u0590-\u05ff", False),
    ("ar", "\u0600-\u06ff", False),
    ("hi", "\u0900-\u097f", False),
)
"""Script -> the language it stands for, its letters, and whether each letter counts (unspaced) or each word."""
_LATIN = "A-Za-z\u00c0-\u024f\u1e00-\u1eff"
_LETTERS = re.compile(
    "|".join(f"([{letters}]{'' if single else '+'})" for _, letters, single in _SCRIPT_LETTERS) + f"|([{_LATIN}]+)"
)


def language_of(text: str) -> str:
    """The language of `text` as far as its scripts tell: "zh" for mostly Han characters, "ja" when Han comes with
    kana, "ko", "th", "ru", "el", "he", "ar", "hi" by script, "en" for Latin script (Latin-script languages are not
    told apart from English here), "und" when there are no letters of these scripts (digits, symbols, emoji only)."""
    counts: dict[str, int] = {}
    for match in _LETTERS.finditer(matching_form(text)):
        index = match.lastindex or 0
        language = _SCRIPT_LETTERS[index - 1][0] if index <= len(_SCRIPT_LETTERS) else "en"
        counts[language] = counts.get(language, 0) + 1
    if not counts:
        return UNDETERMINED
    if counts.get("ja"):
        counts["ja"] += counts.pop("zh", 0)
    return max(counts, key=lambda language: counts[language])


def has_han(text: str) -> bool:
    """Whether `text` has Chinese characters (then metrics count its words as Chinese)."""
    return _HAN_CHAR.search(text) is not None
