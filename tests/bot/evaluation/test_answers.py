from bot.evaluation.metrics import abstention_scores, citation_precision


def test_abstention_scores_positive_class_is_should_not_answer():
    precision, recall, f1 = abstention_scores([True, True, False, False], [True, False, True, False])
    assert (precision, recall, f1) == (0.5, 0.5, 0.5)
    assert abstention_scores([False], [False]) == (0.0, 0.0, 0.0)


def test_citation_precision_is_micro_averaged():
    assert citation_precision([["a", "b"], ["c"]], [["a"], ["c"]]) == 2 / 3
    assert citation_precision([], []) == 0.0
