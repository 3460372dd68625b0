"""Checkable claims of a reply, and which of them its evidence does not support.

A small model copies the right article's topic and invents its facts ("1000mAh" where the article says CR2032). The
facts a customer acts on are the checkable ones, so those are read out of the reply and looked up in the evidence
(the passages the reply cites, plus the question and the bot's own names):

- URLs and e-mail addresses: verbatim (case-insensitive).
- Numbers, amounts, percentages, times and dates: the number must occur in the evidence as a number ("1,000" is
  "1000"); with a unit after it ("30 days", "5%", "10 GB"), the same number with the same unit.
- Codes: a word mixing letters and digits, or an upper-case acronym ("CR2032", "APP-001", "SKU", "1000mAh").
- Names: a capitalised word inside a sentence ("Contact Zendesk support") that the evidence does not contain.
- Yes/no: a reply that opens with "Yes" or "No" (是/不是/可以/不可以...) where the evidence's own answers open with the
  opposite word only.

Citation marks ("[1]") are not claims. Everything else (wording, paraphrase) is left to the composer's and the
retriever's evidence; this check is about the facts that are wrong when invented. Chinese text has numbers,
codes, URLs and yes/no checked (it has no capitals).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from bot.terms import STOPWORDS
from knowledge.sentences import sentences, without_list_marker

ClaimKind = Literal["url", "email", "number", "code", "name", "polarity"]

_CITATION_MARK = re.compile(r"\[\d+(?:\s*[,，]\s*\d+)*\]|【\d+】")
_URL = re.compile(r"https?://[^\s)\]>\"'，。]+|www\.[^\s)\]>\"'，。]+", re.IGNORECASE)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_NUMBER = re.compile(
    r"(?<![A-Za-z0-9_.])(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)(?![\d])(?:\s?([%％]|[A-Za-z]+|[\u4e00-\u9fff]))?"
)
_CODE = re.compile(r"\b(?=[A-Za-z0-9-]*[A-Za-z])(?=[A-Za-z0-9-]*\d)[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*\b|\b[A-Z]{2,}\b")
_CAPITALISED = re.compile(r"(?<![\w'’-])[A-Z][a-z]+(?:[A-Z][a-z]+)*\b")
_UNIT_LIST = """% ％ percent ms s sec second seconds min mins minute minutes h hr hrs hour hours day days week weeks
    month months year years yr yrs kb mb gb tb mbps gbps mah v w kw kwh mm cm m km g kg lb lbs oz ml l ft in
    usd eur gbp cad yuan
    元 天 小时 分钟 秒 周 月 年 岁 个 次 人 张 号 楼 层 米 公里 克 斤"""
_UNITS = frozenset(_UNIT_LIST.split())
_SAME_UNIT = {"yuan": "元", "rmb": "元", "percent": "%", "％": "%", "mins": "min", "hrs": "hour", "hr": "hour"}
_YES_WORDS = frozenset({"yes", "yeah", "yep", "sure", "absolutely", "certainly"})
_NO_WORDS = frozenset({"no", "nope"})
_NO_ZH = ("不", "没有", "否", "无法")
_YES_ZH = ("是的", "是，", "可以", "有的", "能，")
_FIRST_WORD = re.compile(r"[A-Za-z']+")


@dataclass(frozen=True)
class Claim:
    kind: ClaimKind
    value: str


def _plain_number(text: str) -> str:
    value = text.replace(",", "")
    return value.rstrip("0").rstrip(".") if "." in value else value


def _unit(raw: str | None) -> str | None:
    if raw is None:
        return None
    unit = _SAME_UNIT.get(raw.lower(), raw.lower())
    if unit in _UNITS:
        return unit.rstrip("s") if len(unit) > 3 else unit
    return None


def _numbers(text: str) -> set[tuple[str, str | None]]:
    return {(_plain_number(number), _unit(unit)) for number, unit in _NUMBER.findall(text)}


def _polarity(text: str) -> str | None:
    """ "yes" or "no" when `text` opens with a yes/no answer word, else None."""
    start = text.strip()
    first = _FIRST_WORD.match(start)
    word = first.group(0).lower() if first else ""
    if word in _NO_WORDS or start.startswith(_NO_ZH):
        return "no"
    if word in _YES_WORDS or start.startswith(_YES_ZH):
        return "yes"
    return None


def claims(text: str) -> list[Claim]:
    """The checkable claims of `text`, in order, without repeats."""
    found: list[Claim] = []
    rest = _CITATION_MARK.sub(" ", text)  # "[1]" points at a passage; it is not a claim
    for match in _URL.findall(rest):
        found.append(Claim("url", match.rstrip(".,;:!?")))
    rest = _URL.sub(" ", rest)
    for match in _EMAIL.findall(rest):
        found.append(Claim("email", match))
    rest = _EMAIL.sub(" ", rest)
    for number, unit in _NUMBER.findall(rest):
        plain, normal_unit = _plain_number(number), _unit(unit)
        found.append(Claim("number", f"{plain} {normal_unit}" if normal_unit else plain))
    for code in _CODE.findall(rest):
        if not code.isdigit():
            found.append(Claim("code", code))
    for sentence in sentences(rest):
        for name in _CAPITALISED.findall(sentence):
            if without_list_marker(sentence).lstrip("\"'(").startswith(name) or name.lower() in STOPWORDS:
                continue
            found.append(Claim("name", name))
    polarity = _polarity(text)
    if polarity is not None:
        found.append(Claim("polarity", polarity))
    unique: dict[Claim, None] = dict.fromkeys(found)
    return list(unique)


class ClaimEvidence:
    """What claims are checked against, read once: the cited passages' texts, plus `allowed` (the question, the
    bot's and the company's names)."""

    def __init__(self, texts: Iterable[str], allowed: Sequence[str] = ()) -> None:
        texts = list(texts)
        self._haystack = " ".join([*texts, *allowed]).lower()
        self._numbers = _numbers(" ".join([*texts, *allowed]))
        self._answers = {p for text in texts for unit in sentences(text) if (p := _polarity(unit)) is not None}

    def supports(self, claim: Claim) -> bool:
        if claim.kind in {"url", "email", "code", "name"}:
            return claim.value.lower().rstrip("/") in self._haystack
        if claim.kind == "number":
            number, _, unit = claim.value.partition(" ")
            if not unit:
                return any(found == number for found, _ in self._numbers)
            return (number, unit) in self._numbers or ((number, None) in self._numbers and unit in self._haystack)
        # polarity: the evidence answers yes/no the same way, or not at all
        return not self._answers or claim.value in self._answers

    def unsupported(self, reply: str) -> list[Claim]:
        """The claims of `reply` this evidence does not support."""
        return [claim for claim in claims(reply) if not self.supports(claim)]


def unsupported_claims(reply: str, evidence: Iterable[str], allowed: Sequence[str] = ()) -> list[Claim]:
    """The claims of `reply` that neither `evidence` (the cited passages) nor `allowed` supports."""
    return ClaimEvidence(evidence, allowed).unsupported(reply)
