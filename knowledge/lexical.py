"""`LexicalIndex`: BM25 over chunk text (bm25s), for the exact words dense search misses (product names, codes).

It is built in memory from the manifest's chunks when a knowledge base is loaded, so nothing extra is written to disk
(and nothing is unpickled). Tokens are lower-cased words and numbers (`knowledge.text`: Chinese segmented into words),
English stop words dropped, Snowball-stemmed when PyStemmer is installed.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from functools import lru_cache

import numpy as np

from knowledge.text import words as text_words

_TOKEN = re.compile(r"[^\W_]+", re.UNICODE)


@lru_cache(maxsize=1)
def _stop_words() -> frozenset[str]:
    from bm25s.stopwords import STOPWORDS_EN

    return frozenset(STOPWORDS_EN)


@lru_cache(maxsize=1)
def _stemmer() -> Callable[[list[str]], list[str]] | None:
    try:
        import Stemmer
    except ImportError:
        return None
    stem_words: Callable[[list[str]], list[str]] = Stemmer.Stemmer("english").stemWords
    return stem_words


def tokenize(text: str) -> list[str]:
    """Lower-cased word and number tokens without stop words, stemmed when a stemmer is available."""
    stop = _stop_words()
    words = [word for word in text_words(text.lower(), _TOKEN) if word not in stop]
    stem = _stemmer()
    return stem(words) if stem is not None else words


class LexicalIndex:
    """BM25 scores for a fixed list of texts; positions in that list identify the results."""

    def __init__(self, texts: Sequence[str]) -> None:
        import bm25s

        # bm25s sets its logger to DEBUG when imported; its index-building chatter is not ours to print.
        logging.getLogger("bm25s").setLevel(logging.WARNING)
        self.size = len(texts)
        self._bm25 = bm25s.BM25()
        if texts:
            self._bm25.index([tokenize(text) or [""] for text in texts], show_progress=False)

    def search(self, query: str, k: int, allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        """The `k` best (position, score) pairs with a positive score; `allowed` is a 0/1 mask over positions.

        Scores come from `get_scores` and a partial sort in the calling thread: bm25s's `retrieve` hands even one
        query to a thread pool, which costs more than the scoring itself on a busy machine.
        """
        tokens = tokenize(query)
        if self.size == 0 or k <= 0 or not tokens:
            return []
        scores = np.asarray(self._bm25.get_scores(tokens), dtype=np.float32)
        if allowed is not None:
            scores = scores * allowed
        k = min(k, self.size)
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(int(position), float(scores[position])) for position in top if scores[position] > 0]
