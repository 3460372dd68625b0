"""`group_questions`: the customers' unanswered questions, grouped greedily by meaning.

Questions are embedded (the knowledge base's embedder, whose unit vectors make the inner product the cosine
similarity) and taken newest first; each joins the group whose leading question (its first, so its newest) is the
most similar, when that is at least `threshold`, else starts a group of its own: one pass and one matrix-vector
product per question, no clustering library. Groups come biggest first (then the most recent first), each
with its size, a few distinct example questions and its latest date, so the team sees what the help centre lacks.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from knowledge.embedders.base import Vectors

DEFAULT_THRESHOLD = 0.70
"""On covid_faq_paraphrases with MiniLM (`benchmarks/question_groups.py`): pair precision 0.80, recall 0.46, F1
0.59 (0.75: 0.92, 0.37, 0.53; 0.65: 0.66, 0.53, 0.59): groups that rarely mix topics, and most of the best F1."""
EXAMPLES_PER_GROUP = 3


@dataclass(frozen=True)
class UnansweredQuestion:
    """A customer's message that the bot abstained on, handed off, or whose answer was rated bad (`why`)."""

    text: str
    conversation_id: str
    message_id: int
    asked_at: datetime
    why: str


@dataclass
class QuestionGroup:
    questions: list[UnansweredQuestion] = field(default_factory=list)

    @property
    def size(self) -> int:
        return len(self.questions)

    @property
    def latest(self) -> datetime:
        return max(question.asked_at for question in self.questions)

    def examples(self, count: int = EXAMPLES_PER_GROUP) -> list[UnansweredQuestion]:
        """Up to `count` questions of distinct wording, newest first."""
        seen: set[str] = set()
        chosen = []
        for question in self.questions:
            wording = " ".join(question.text.lower().split())
            if wording not in seen:
                seen.add(wording)
                chosen.append(question)
            if len(chosen) == count:
                break
        return chosen


def group_questions(
    questions: Sequence[UnansweredQuestion],
    embed: Callable[[Sequence[str]], Vectors],
    threshold: float = DEFAULT_THRESHOLD,
) -> list[QuestionGroup]:
    """`questions` in groups of similar meaning (cosine similarity to a group's leading question >= `threshold`)."""
    if not questions:
        return []
    newest_first = sorted(questions, key=lambda question: (question.asked_at, question.message_id), reverse=True)
    vectors = np.asarray(embed([question.text for question in newest_first]), dtype=np.float32)
    groups: list[QuestionGroup] = []
    leaders = np.zeros((0, vectors.shape[1]), dtype=np.float32)
    for question, vector in zip(newest_first, vectors, strict=True):
        similarities = leaders @ vector
        best = int(np.argmax(similarities)) if len(similarities) else -1
        if best >= 0 and similarities[best] >= threshold:
            groups[best].questions.append(question)
            continue
        groups.append(QuestionGroup([question]))
        leaders = np.vstack([leaders, vector])
    return sorted(groups, key=lambda group: (group.size, group.latest), reverse=True)
