"""Question files: `{"id", "dialogue_id", "history": [{"role","content"}], "question", "answer", "relevant_ids",
"answerable", "split", "metadata"}` per line (see DESIGN.md, Data formats)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.types import ChatMessage
from knowledge.errors import DeskbotError, LoaderError
from knowledge.loaders.base import json_lines


class QuestionFileError(DeskbotError):
    """A questions file is missing or malformed; the message names the file and line."""


@dataclass(frozen=True)
class Question:
    id: str
    question: str
    history: tuple[ChatMessage, ...] = ()
    answer: str = ""
    relevant_ids: tuple[str, ...] = ()
    answerable: bool = True
    dialogue_id: str = ""
    split: str = ""
    metadata: Mapping[str, Any] = field(default_factory=dict)


def _history(value: Any, where: str) -> tuple[ChatMessage, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise QuestionFileError(f"{where}: 'history' must be a list of {{role, content}} objects")
    turns = []
    for turn in value:
        if not isinstance(turn, dict) or turn.get("role") not in {"user", "assistant", "system"}:
            raise QuestionFileError(f"{where}: each history turn needs role user|assistant and content")
        turns.append(ChatMessage(turn["role"], str(turn.get("content", ""))))
    return tuple(turns)


def load_questions(path: Path, limit: int | None = None) -> list[Question]:
    if not path.is_file():
        raise QuestionFileError(f"{path}: questions file not found")
    questions: list[Question] = []
    seen: set[str] = set()
    try:
        records = list(json_lines(path, QuestionFileError))
    except LoaderError as error:  # unreadable file (binary, too large)
        raise QuestionFileError(str(error)) from error
    for where, record in records:
        if not isinstance(record.get("question"), str):
            raise QuestionFileError(f"{where}: expected an object with a string 'question'")
        number = len(questions) + 1
        qid = str(record.get("id") or f"line-{number}")
        if qid in seen:
            raise QuestionFileError(f"{where}: duplicate id '{qid}'")
        seen.add(qid)
        relevant = record.get("relevant_ids") or []
        if not isinstance(relevant, list):
            raise QuestionFileError(f"{where}: 'relevant_ids' must be a list")
        questions.append(
            Question(
                id=qid,
                question=record["question"],
                history=_history(record.get("history"), where),
                answer=str(record.get("answer") or ""),
                relevant_ids=tuple(str(r) for r in relevant),
                answerable=bool(record.get("answerable", True)),
                dialogue_id=str(record.get("dialogue_id") or qid),
                split=str(record.get("split") or ""),
                metadata=record.get("metadata") or {},
            )
        )
        if limit is not None and len(questions) >= limit:
            break
    if not questions:
        raise QuestionFileError(f"{path}: no questions in the file")
    return questions


def unknown_relevant_ids(questions: Sequence[Question], known_ids: set[str]) -> list[str]:
    """Relevant ids that the knowledge base does not hold (a sign of the wrong --kb)."""
    return sorted({rid for q in questions for rid in q.relevant_ids if rid not in known_ids})
