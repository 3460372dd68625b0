"""Words of any text: the one place Deskbot cuts text into words (BM25, topic words, shingles, metrics).

Text is read as runs of one kind of script. Han characters (Chinese) are segmented into words with jieba, a
dictionary-based Chinese segmenter; other scripts written without spaces (Japanese kana, Thai, Lao, Khmer, Myanmar)
fall back to overlapping character pairs; everything else is split by the caller's own word pattern, exactly as it
was before this layer existed, so English text gives the same words as ever. Mixed text ("Nimbus Thermo 怎么重置")
gives the words of each run in order. Punctuation (full-width included) is never a word.
"""

from __future__ import annotations

import logging
import re
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


_KANA = re.compile("[\u3040-\u30ff]")
_HANGUL = re.compile("[\uac00-\ud7af]")
_THAI = re.compile("[\u0e00-\u0e7f]")


def language_of(text: str) -> str:
    """The language of `text` as far as its script tells: "ja" with kana, "zh" with Han characters, "ko" with
    Hangul, "th" with Thai; otherwise "en" (Latin-script languages are not told apart from English here)."""
    if _KANA.search(text):
        return "ja"
    if has_han(text):
        return "zh"
    if _HANGUL.search(text):
        return "ko"
    if _THAI.search(text):
        return "th"
    return "en"


def has_han(text: str) -> bool:
    """Whether `text` has Chinese characters (then metrics count its words as Chinese)."""
    return _HAN_CHAR.search(text) is not None
