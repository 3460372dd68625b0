"""Topic words of a message: what query rewriting carries over from earlier turns and what the answer policy
looks for in the passages. Stopwords and referring words ("it", "they", "there"; "这个", "它") are not topic words.
Words come from `knowledge.text`, so Chinese is segmented into words; English is read as it always was."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from knowledge.text import words as text_words

WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'&.+#/-]*")
_REFERRING_WORDS = (
    "it its it's itself they them their theirs there this that these those he she his her him one ones "
    "same such former latter above previous earlier else other another"
)
_REFERRING_WORDS_ZH = (
    "它 它们 他 她 他们 她们 这 那 这个 那个 这些 那些 这里 那里 这儿 那儿 这家 那家 该 此 其 "
    "它家 他家 她家 他们家 她们家 这边 那边 该店 本店 别的 其他 其它 另外 刚才 之前 上面"
)
REFERRING = frozenset(_REFERRING_WORDS.split()) | frozenset(_REFERRING_WORDS_ZH.split())
_STOPWORD_LIST = """
    a about above after again against all also am an and any are aren't as at be because been before being below
    between both but by can can't cannot could couldn't did didn't do does doesn't doing don't down during each few for
    from further get got had hadn't has hasn't have haven't having he he'd he'll he's her here here's hers herself him
    himself his how how's i i'd i'll i'm i've if in into is isn't it it's its itself just know let's like me more most
    much mustn't my myself need no nor not now of off on once only or other ought our ours ourselves out over own
    please really same say shan't she she'd she'll she's should shouldn't so some such tell than thank thanks that
    that's the their theirs them themselves then there there's these they they'd they'll they're they've this those
    through to too under until up us very want was wasn't we we'd we'll we're we've were weren't what what's when
    when's where where's which while who who's whom why why's will with won't would wouldn't yes yeah you you'd you'll
    you're you've your yours yourself yourselves ok okay sure great good hi hello hey anything something would like
    looking find help thing things one ones lot bit any many well able else other another
    long often big high far soon old new take takes work works use used way possible"""
_STOPWORD_LIST_ZH = """
    的 了 吗 呢 吧 啊 呀 哦 嗯 是 在 有 和 与 及 或 也 都 就 还 又 很 太 最 请 请问 您 你 我 我们 你们 想 要 能 可以 会
    一下 什么 怎么 怎样 如何 多少 哪 哪里 哪个 哪些 几 么 个 一个 一 不 没 没有 给 对 把 被 从 到 让 帮
    知道 告诉 谢谢 好 好的 那么 然后 因为 所以 但是 如果 就是 还是 或者 一些 时候"""
STOPWORDS = frozenset(_STOPWORD_LIST.split()) | frozenset(_STOPWORD_LIST_ZH.split())


def content_words(text: str) -> list[str]:
    """Words that carry the topic: not stopwords, not bare numbers of one digit, in order, without repeats."""
    seen: set[str] = set()
    words = []
    for raw in text_words(text, WORD):
        word = raw.strip(".'-/")
        key = word.lower()
        if not word or key in STOPWORDS or key in REFERRING or key in seen or (key.isdigit() and len(key) < 2):
            continue
        seen.add(key)
        words.append(word)
    return words


def share_in(words: Sequence[str], text: str, weights: Mapping[str, float] | None = None) -> float:
    """Share of `words` (lower-case) that occur in `text` as substrings, so "refund" finds "refunds"; 0.0 for none.
    With `weights` (a weight per word, 1 for a word it lacks) each word counts by its weight: the share of the words'
    total weight found in `text`."""
    weight = weights or {}
    total = sum(weight.get(word, 1.0) for word in words)
    if not total:
        return 0.0
    haystack = text.lower()
    return sum(weight.get(word, 1.0) for word in words if word in haystack) / total


def coverage(message: str, text: str) -> float:
    """Share of the message's topic words that occur in `text` (`share_in`); 0.0 for a message without topic words
    (small talk such as "thank you!")."""
    return share_in([word.lower() for word in content_words(message)], text)
