"""What a question hinges on, and whether the passages have it: the abstention model's focus evidence.

Three readings of a message, each the same in English and Chinese (words come from `bot.terms`, so Chinese is
segmented by the same layer BM25 uses):

- **The focus word.** `WordRarity` counts, once per index snapshot, in how many chunks each topic word occurs
  (no labels: the chunk texts only) and gives a word's rarity as its inverse document frequency over that of a word
  no chunk has, log(N + 1) / log(N + 1) = 1. The rarest topic words of a question are what it is about beyond its
  topic ("Is it available in *Spanish*?", "will it work on *iOS*?", "Do I need a *lawyer*?" over pages that are
  about the service, the app, the form): `missing_focus` is the rarity of the rarest topic word that the top
  passages do not contain (0 when they contain them all), `weighted_coverage` the rarity-weighted share that they
  contain.
- **A reference nothing introduced.** "Does *this* Superior Court publish ...?", "the main purpose of *that* NASA
  mission" on the first turn: a demonstrative (this, that, these, those; 这个, 那个, 这些, 那些, 该, 这家, 那家, 此)
  before a topic word that no earlier turn contains. The question cannot be answered as asked; the right reply asks
  which one. `unintroduced_reference` is 1 then.
- **The expected answer type.** A question that asks for an amount ("how much", "cost", "fee", "free", 多少钱,
  价格, 免费), a time or duration ("when", "how long", 什么时候, 多久) or a count ("how many", 几个) needs a sentence of
  that kind among the top passages (a currency or price word, a number with a time unit, a date, any number).
  `answer_type_missing` is 1 when the message asks for one of them and no sentence of the passages has it.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import pairwise

from bot.terms import STOPWORDS, content_words
from knowledge.documents import Chunk
from knowledge.store import KnowledgeStore
from knowledge.text import words as text_words
from knowledge.titles import TitleIndex, name_form


@dataclass(frozen=True)
class WordRarity:
    """In how many of `chunks` chunks each topic word (lower-case) occurs."""

    document_frequency: dict[str, int]
    chunks: int

    @classmethod
    def build(cls, texts: Iterable[str]) -> WordRarity:
        counts: Counter[str] = Counter()
        total = 0
        for text in texts:
            total += 1
            counts.update({word.lower() for word in content_words(text)})
        return cls(dict(counts), total)

    @classmethod
    def of_chunks(cls, chunks: Iterable[Chunk]) -> WordRarity:
        """The frequencies over chunks as BM25 reads them (title, section and text)."""
        return cls.build(chunk.embedding_text() for chunk in chunks)

    @classmethod
    def of_store(cls, store: KnowledgeStore) -> WordRarity:
        """The frequencies over the chunks of the store's current snapshot."""
        return cls.of_chunks(store.chunk_rows().values())

    def rarity(self, word: str) -> float:
        """log((N + 1) / (df + 1)) / log(N + 1): 1 for a word no chunk has, near 0 for a word every chunk has."""
        if self.chunks == 0:
            return 1.0
        frequency = self.document_frequency.get(word.lower(), 0)
        return math.log((self.chunks + 1) / (frequency + 1)) / math.log(self.chunks + 1)


def missing_focus(words: Sequence[str], rarity: WordRarity, text: str) -> float:
    """The rarity of the rarest of `words` (lower-case) that `text` does not contain; 0 when it contains them all."""
    haystack = text.lower()
    return max((rarity.rarity(word) for word in words if word not in haystack), default=0.0)


def weighted_coverage(words: Sequence[str], rarity: WordRarity, text: str) -> float:
    """The rarity-weighted share of `words` (lower-case) that `text` contains; 0 for no words."""
    haystack = text.lower()
    weights = [(rarity.rarity(word), word in haystack) for word in words]
    total = sum(weight for weight, _ in weights)
    return sum(weight for weight, found in weights if found) / total if total > 0 else 0.0


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
_ASKING_ZH = (
    "吗",
    "呢",
    "什么",
    "怎么",
    "怎样",
    "如何",
    "为什么",
    "哪",
    "几",
    "多少",
    "请",
    "是否",
    "能否",
    "可以",
    "有没有",
)


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
    r"august|september|october|november|december|daily|weekly|monthly|annually|immediately|hours)\b|"
    r"\d\s*(?:天|小时|分钟|秒|周|月|年|点)|营业时间|全天|周一|周末",
    re.IGNORECASE,
)
_NUMBER = re.compile(r"\d|[一二三四五六七八九十两]+[个家种]")


def asked_types(message: str) -> list[str]:
    """The kinds of answer `message` asks for: "amount", "time", "count" (in that order), none for other questions."""
    return [
        kind
        for kind, asks in (("amount", _ASKS_AMOUNT), ("time", _ASKS_TIME), ("count", _ASKS_COUNT))
        if asks.search(message)
    ]


_HAS = {"amount": _AMOUNT, "time": _TIME, "count": _NUMBER}


def answer_type_missing(message: str, spans: Sequence[str]) -> float:
    """1.0 when `message` asks for a kind of answer (`asked_types`) that no sentence of `spans` has, else 0.0."""
    kinds = asked_types(message)
    if not kinds:
        return 0.0
    return float(not any(_HAS[kind].search(span) for kind in kinds for span in spans))
