"""What a question needs before any passage can answer it: evidence that declines a turn outright.

The abstention model (`bot.abstention`) weighs retrieval evidence; these three readings of the message itself are
rules instead, listed in the model file's `declines`: each names a kind of turn that no passage answers as asked,
so no weight is fitted (a weight could only be learnt from the one dev set where the kind occurs, and would not
transfer). Each reads English and Chinese alike (words from `knowledge.text`, Chinese segmented as BM25 does).

- **A reference nothing introduced** (`unintroduced_reference`): the conversation has named nothing yet (no earlier
  turn has a topic word) and the message refers by a demonstrative (this, these, those, "of/is that"; 这个, 那个,
  这些, 那些, 该, 这家, 那家, 此, ...) to a thing it has not named before - neither by the word after the
  demonstrative nor, with the knowledge base's title index, by a title ("我要去庆云楼吃饭，这家餐馆…" names the
  restaurant first). "Does *this* Superior Court publish judges roster?" on the first turn is underspecified: the
  right reply asks which one, not an answer about some court.
- **The expected answer type** (`answer_type_missing`): a question that asks for an amount ("how much", "cost",
  "fee", "free", "paid", 多少钱, 价格, 免费), a time or duration ("when ...", "how long", 什么时候, 多久, 几点) or a
  count ("how many", 几个) needs a sentence of that kind among the top passages: a currency, price or ticket word
  (元, 价, 费, 票, 人均), a number with a time unit, a weekday, month or clock time, a number. "Is it a paid
  service?" over a product overview that never mentions a price is declined.
- **A closer** (`asks_nothing`): no topic word, no question mark, no question or request word ("Thank you!",
  "好的，谢谢"). "How does it work?" has no topic word but asks, and goes on to the model.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from itertools import pairwise

from bot.terms import STOPWORDS, content_words
from knowledge.text import words as text_words
from knowledge.titles import TitleIndex, name_form

_DEMONSTRATIVES = frozenset({"this", "these", "those"})
_WORDS_BEFORE_THAT = "of in on for about with from at to by is was does did"
_THAT_AFTER = frozenset(_WORDS_BEFORE_THAT.split()) | {""}
"""Words before a "that" that makes it a demonstrative ("the purpose of that mission"), not a relative pronoun
("the file that contains")."""
_DEMONSTRATIVE_LIST_ZH = "这个 那个 这些 那些 该 这家 那家 此 这位 那位 这款 那款"
_DEMONSTRATIVES_ZH = frozenset(_DEMONSTRATIVE_LIST_ZH.split())
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'&.+#/-]*")


def unintroduced_reference(message: str, history: Sequence[str], titles: TitleIndex | None = None) -> float:
    """1.0 when `history` names nothing (no turn has a topic word) and `message` refers by a demonstrative to a
    thing (the topic word right after it) that it has not named before - neither by that word nor, with `titles`,
    by a title of the knowledge base ("我要去庆云楼吃饭，这家餐馆…" names the restaurant first) - else 0.0."""
    if any(content_words(turn) for turn in history):
        return 0.0
    tokens = [token.strip(".'-/").lower() for token in text_words(message, _WORD)]
    form = name_form(message)
    for position, (demonstrative, following) in enumerate(pairwise(tokens)):
        before = tokens[position - 1] if position else ""
        is_that = demonstrative == "that" and before in _THAT_AFTER
        if not is_that and demonstrative not in _DEMONSTRATIVES and demonstrative not in _DEMONSTRATIVES_ZH:
            continue
        if following in STOPWORDS or not content_words(following) or following in tokens[:position]:
            continue
        if titles is not None and _names_before(form, demonstrative, following, titles):
            continue
        return 1.0
    return 0.0


def _names_before(form: str, demonstrative: str, following: str, titles: TitleIndex) -> bool:
    """Whether `form` (a message's name form) names a title before the reference `demonstrative following`."""
    found = [form.find(joined) for joined in (f"{demonstrative} {following}", f"{demonstrative}{following}")]
    at = min((where for where in found if where >= 0), default=len(form))
    return any(name.end <= at for name in titles.names_in(form))


_ASKING_WORD_LIST = """what how why when where who whom whose which can could would will should shall may might
    is are am was were do does did have has tell explain show describe list give more help need want"""
_ASKING_WORDS = frozenset(_ASKING_WORD_LIST.split())
_ASKING_LIST_ZH = "吗 呢 什么 怎么 怎样 如何 为什么 哪 几 多少 请 是否 能否 可以 有没有"
_ASKING_ZH = tuple(_ASKING_LIST_ZH.split())


def asks_nothing(message: str) -> float:
    """1.0 when `message` has no topic word and asks nothing - no question mark, no question or request word
    ("Thank you!", "好的，谢谢"): a closer, which no passage answers - else 0.0."""
    if content_words(message) or "?" in message or "？" in message or any(cue in message for cue in _ASKING_ZH):
        return 0.0
    return float(not any(token.lower() in _ASKING_WORDS for token in text_words(message, _WORD)))


_ASKS_AMOUNT = re.compile(
    r"\b(how much|cost|costs|price|prices|pricing|fee|fees|charge|charged|free|paid)\b|多少钱|价格|价钱|费用|收费|免费",
    re.IGNORECASE,
)
_ASKS_TIME = re.compile(r"(?:^|[.?!,;]\s*)when\b|\b(how long|what time)\b|什么时候|多久|多长时间|几点", re.IGNORECASE)
_ASKS_COUNT = re.compile(r"\b(how many)\b|几个|多少个|几家|几种", re.IGNORECASE)
_AMOUNT = re.compile(
    r"[$€£¥]|\b(usd|eur|dollars?|cents?|prices?|pricing|priced|costs?|fees?|charges?|free|paid|billing|billed|"
    r"plans?|cheap|expensive|affordable|inexpensive|tickets?|admission)\b|元|价|费|票|人均|消费",
    re.IGNORECASE,
)
_TIME = re.compile(
    r"\d\s*(?:ms|s|sec|seconds?|min|minutes?|h|hrs?|hours?|days?|weeks?|months?|years?|am|pm)\b|\d{1,2}:\d{2}|"
    r"\b(monday|tuesday|wednesday|thursday|friday|saturday|sunday|january|february|march|april|may|june|july|"
    r"august|september|october|november|december|daily|weekly|monthly|annually|immediately|seconds?|minutes?|"
    r"hours?|days?|weeks?|months?|years?)\b|"
    r"\d\s*(?:天|小时|分钟|秒|周|月|年|点)|营业时间|全天|周一|周末",
    re.IGNORECASE,
)
_NUMBER = re.compile(
    r"\d|\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|dozens?|hundreds?|thousands?|several)\b|"
    r"[一二三四五六七八九十两]+[个家种]",
    re.IGNORECASE,
)


def asked_types(message: str) -> list[str]:
    """The kinds of answer `message` asks for: "amount", "time", "count" (in that order), none for other questions."""
    return [
        kind
        for kind, asks in (("amount", _ASKS_AMOUNT), ("time", _ASKS_TIME), ("count", _ASKS_COUNT))
        if asks.search(message)
    ]


_HAS = {"amount": _AMOUNT, "time": _TIME, "count": _NUMBER}


def answer_type_missing(message: str, spans: Sequence[str]) -> float:
    """1.0 when `message` asks for kinds of answer (`asked_types`) and no sentence of `spans` has content of any of
    them, else 0.0."""
    kinds = asked_types(message)
    if not kinds:
        return 0.0
    return float(not any(_HAS[kind].search(span) for kind in kinds for span in spans))
