"""Answer metrics in English and Chinese."""

from __future__ import annotations

import pytest


def test_chinese_text_is_scored_on_its_words() -> None:
    from bot.evaluation.metrics import bleu, rouge_l

    answer = "故宫博物院的开放时间是早上八点半到下午五点，周一闭馆。"
    assert rouge_l([answer], [answer]) == 1.0
    assert bleu([answer], [answer]) == pytest.approx(100.0)
    assert 0.0 < rouge_l(["故宫周一闭馆。"], [answer]) < 1.0
    assert rouge_l(["颐和园门票三十元。"], [answer]) < rouge_l(["故宫周一闭馆。"], [answer])


def test_english_scores_are_unchanged_by_the_chinese_path() -> None:
    from rouge_score import rouge_scorer

    from bot.evaluation.metrics import rouge_l

    pred, ref = "Returns are accepted within 30 days.", "You can return items within 30 days of delivery."
    expected = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True).score(ref, pred)["rougeL"].fmeasure
    assert rouge_l([pred], [ref]) == expected
