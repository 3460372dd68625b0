"""Read training files into (history, question, answer) pairs.

Three formats, told apart by their content:
- a questions file in the ../shared/data format (jsonl with "question"; the answer is its "answer" field, or the text
  of its first relevant document in `--knowledge`); a FAQ jsonl with "question" and "answer" is the same format;
- a FAQ csv with `question` and `answer` columns;
- a conversation export (`deskbot export conversations --rated-only`): assistant messages rated good, with the user
  turn(s) before them as the question and the earlier turns as history.
"""

from __future__ import annotations

import csv
import logging
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.evaluation.questions import QuestionFileError, load_questions
from bot.finetune.errors import TrainingDataError
from bot.types import ChatMessage
from knowledge.errors import LoaderError
from knowledge.loaders.base import json_lines

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainingPair:
    """One question and the answer the model should learn; `group` keeps a dialogue on one side of the split."""

    id: str
    question: str
    answer: str
    history: tuple[ChatMessage, ...] = ()
    group: str = ""
    relevant_ids: tuple[str, ...] = ()


@dataclass
class SourceData:
    pairs: list[TrainingPair]
    format: str
    dropped: Counter[str] = field(default_factory=Counter)


def load_knowledge(path: Path) -> dict[str, Mapping[str, Any]]:
    """Documents of a knowledge jsonl (`{"id", "title", "text"}` per line) by id."""
    if not path.is_file():
        raise TrainingDataError(f"{path}: knowledge file not found")
    documents: dict[str, Mapping[str, Any]] = {}
    for where, record in _jsonl_records(path):
        if not isinstance(record.get("id"), str) or not isinstance(record.get("text"), str):
            raise TrainingDataError(f"{where}: a knowledge line needs string 'id' and 'text'")
        documents[record["id"]] = record
    if not documents:
        raise TrainingDataError(f"{path}: the knowledge file has no documents")
    return documents


def passage_text(document: Mapping[str, Any]) -> str:
    """The text an embedder sees for a document: its title, then its text."""
    title = str(document.get("title") or "").strip()
    text = str(document.get("text") or "").strip()
    return f"{title}\n{text}" if title and not text.startswith(title) else text


def _jsonl_records(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """("<file>, line N", object) per line; bad JSON, and an unreadable (binary, too large) file, are training data
    errors."""
    try:
        yield from json_lines(path, TrainingDataError)
    except LoaderError as error:
        raise TrainingDataError(str(error)) from error


def read_training_file(path: Path, knowledge: Mapping[str, Mapping[str, Any]] | None = None) -> SourceData:
    """Pairs from a questions/FAQ jsonl, a FAQ csv or a conversation export, with counts of what was dropped."""
    if not path.is_file():
        raise TrainingDataError(f"{path}: training file not found")
    if path.stat().st_size == 0:
        raise TrainingDataError(f"{path}: the training file is empty")
    if path.suffix.lower() == ".csv":
        data = _read_faq_csv(path)
    elif path.suffix.lower() in {".jsonl", ".json", ".ndjson"}:
        first = next(_jsonl_records(path), None)
        if first is None:
            raise TrainingDataError(f"{path}: the training file is empty")
        record = first[1]
        if "messages" in record:
            data = _read_conversations(path)
        elif "question" in record:
            data = _read_questions(path, knowledge)
        else:
            raise TrainingDataError(
                f"{path}: unknown format (expected a questions/FAQ jsonl with 'question' or a conversation export "
                "with 'messages')"
            )
    else:
        raise TrainingDataError(f"{path}: unsupported file type '{path.suffix}' (use .jsonl or .csv)")
    log.info("read %d pairs from %s (%s); dropped %s", len(data.pairs), path, data.format, dict(data.dropped))
    return data


def _read_questions(path: Path, knowledge: Mapping[str, Mapping[str, Any]] | None) -> SourceData:
    try:
        questions = load_questions(path)
    except QuestionFileError as error:
        raise TrainingDataError(str(error)) from error
    data = SourceData([], "questions")
    for item in questions:
        if not item.answerable:
            data.dropped["not answerable"] += 1
            continue
        answer = item.answer
        if not answer.strip() and item.relevant_ids:
            if knowledge is None:
                data.dropped["no answer and no --knowledge to take it from"] += 1
                continue
            document = knowledge.get(item.relevant_ids[0])
            answer = str(document.get("text", "")) if document else ""
        data.pairs.append(
            TrainingPair(
                id=item.id,
                question=item.question,
                answer=answer,
                history=item.history,
                group=item.dialogue_id,
                relevant_ids=item.relevant_ids,
            )
        )
    return data


def _read_faq_csv(path: Path) -> SourceData:
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        columns = {name.strip().lower(): name for name in reader.fieldnames or []}
        if "question" not in columns or "answer" not in columns:
            raise TrainingDataError(
                f"{path}: a FAQ csv needs 'question' and 'answer' columns (found {sorted(columns)})"
            )
        data = SourceData([], "faq-csv")
        for number, row in enumerate(reader, start=2):
            data.pairs.append(
                TrainingPair(
                    id=f"line-{number}",
                    question=row[columns["question"]] or "",
                    answer=row[columns["answer"]] or "",
                    group=f"line-{number}",
                )
            )
    if not data.pairs:
        raise TrainingDataError(f"{path}: the FAQ csv has no rows")
    return data


def _read_conversations(path: Path) -> SourceData:
    data = SourceData([], "conversations")
    for where, record in _jsonl_records(path):
        messages = record.get("messages")
        if not isinstance(messages, list):
            raise TrainingDataError(f"{where}: 'messages' must be a list")
        conversation = str(record.get("conversation_id") or where)
        turns: list[ChatMessage] = []
        pending_user: list[str] = []
        for index, message in enumerate(messages):
            if not isinstance(message, dict) or message.get("role") not in {"user", "assistant"}:
                raise TrainingDataError(f"{where}: each message needs role user|assistant")
            content = str(message.get("content") or "")
            if message["role"] == "user":
                pending_user.append(content)
                continue
            if message.get("rating") != "good":
                data.dropped["assistant reply not rated good"] += 1
            elif not pending_user:
                data.dropped["no user turn before the reply"] += 1
            else:
                data.pairs.append(
                    TrainingPair(
                        id=f"{conversation}:{index}",
                        question="\n".join(pending_user),
                        answer=content,
                        history=tuple(turns),
                        group=conversation,
                        relevant_ids=tuple(str(c) for c in message.get("citations") or ()),
                    )
                )
            turns.extend(ChatMessage("user", text) for text in pending_user)
            turns.append(ChatMessage("assistant", content))
            pending_user = []
    return data
