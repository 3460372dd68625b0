from knowledge.grouping import group_by_document


def test_at_most_per_document_of_one_document_and_top_k_in_all() -> None:
    ranked = [("a", 1), ("a", 2), ("a", 3), ("b", 4), ("c", 5), ("b", 6)]
    kept = group_by_document(ranked, 4, 2, lambda item: item[0])
    assert kept == [("a", 1), ("a", 2), ("b", 4), ("c", 5)]
    assert group_by_document(ranked, 10, 1, lambda item: item[0]) == [("a", 1), ("b", 4), ("c", 5)]
