"""Topic words of a message: what query rewriting carries over from earlier turns and what the answer policy
looks for in the passages. English stopwords and referring words ("it", "they", "there") are not topic words."""

from __future__ import annotations

import re

WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'&.+#/-]*")
_REFERRING_WORDS = (
    "it its it's itself they them their theirs there this that these those he she his her him one ones "
    "same such former latter above previous earlier else other another"
)
REFERRING = frozenset(_REFERRING_WORDS.split())
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
STOPWORDS = frozenset(_STOPWORD_LIST.split())


def content_words(text: str) -> list[str]:
    """Words that carry the topic: not stopwords, not bare numbers of one digit, in order, without repeats."""
    seen: set[str] = set()
    words = []
    for raw in WORD.findall(text):
        word = raw.strip(".'-/")
        key = word.lower()
        if not word or key in STOPWORDS or key in REFERRING or key in seen or (key.isdigit() and len(key) < 2):
            continue
        seen.add(key)
        words.append(word)
    return words


def coverage(message: str, text: str) -> float:
    """Share of the message's topic words that occur in `text` (as substrings, so "refund" finds "refunds");
    0.0 for a message without topic words (small talk such as "thank you!")."""
    words = [word.lower() for word in content_words(message)]
    if not words:
        return 0.0
    haystack = text.lower()
    return sum(1 for word in words if word in haystack) / len(words)
