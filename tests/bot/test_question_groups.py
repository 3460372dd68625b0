"""`group_questions`: greedy grouping by cosine similarity to each group's newest question."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import numpy as np

from bot.question_groups import UnansweredQuestion, group_questions

START = datetime(2026, 3, 1, tzinfo=UTC)
# Unit vectors chosen by hand: "a" and "a2" are 0.8 apart, "b" is orthogonal to both.
VECTORS = {
    "a": [1.0, 0.0, 0.0],
    "a2": [0.8, 0.6, 0.0],
    "A2 ": [0.8, 0.6, 0.0],  # the same wording as "a2", in other case and spacing
    "a3": [0.8, 0.6, 0.0],
    "b": [0.0, 0.0, 1.0],
}


def embed(texts: Sequence[str]) -> np.ndarray:
    return np.asarray([VECTORS[text] for text in texts], dtype=np.float32)


def question(text: str, minutes: int) -> UnansweredQuestion:
    return UnansweredQuestion(text, f"c-{text}-{minutes}", minutes, START + timedelta(minutes=minutes), "abstained")


def test_similar_questions_join_the_group_of_the_newest_and_groups_come_biggest_first():
    questions = [question("a", 1), question("b", 2), question("a2", 3), question("a3", 4)]
    groups = group_questions(questions, embed, threshold=0.75)
    assert [group.size for group in groups] == [3, 1]
    big, small = groups
    assert [q.text for q in big.questions] == ["a3", "a2", "a"], "newest first; a is 0.8 like a3"
    assert big.latest == START + timedelta(minutes=4) and small.latest == START + timedelta(minutes=2)
    assert [q.text for q in big.examples()] == ["a3", "a2", "a"]


def test_a_stricter_threshold_keeps_them_apart_and_equal_sizes_come_newest_first():
    questions = [question("a", 1), question("b", 2), question("a2", 3)]
    groups = group_questions(questions, embed, threshold=0.9)
    assert [(group.size, group.questions[0].text) for group in groups] == [(1, "a2"), (1, "b"), (1, "a")]


def test_examples_skip_repeated_wording():
    questions = [question("a2", 1), question("a3", 2)]
    repeated = [*questions, UnansweredQuestion("A2 ", "c-x", 9, START, "rated bad")]
    (group,) = group_questions(repeated, embed, threshold=0.5)
    assert [q.text for q in group.examples()] == ["a3", "a2"]


def test_no_questions_no_groups():
    assert group_questions([], embed) == []
