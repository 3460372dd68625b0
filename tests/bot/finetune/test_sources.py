import json
from pathlib import Path

import pytest

from bot.finetune.errors import TrainingDataError
from bot.finetune.sources import load_knowledge, read_training_file


def _jsonl(path: Path, records: list[dict[str, object]]) -> Path:
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n", encoding="utf-8")
    return path


def test_questions_take_the_first_relevant_document_when_there_is_no_answer(tmp_path: Path) -> None:
    knowledge = load_knowledge(_jsonl(tmp_path / "kb.jsonl", [{"id": "d1", "title": "T", "text": "From the doc."}]))
    path = _jsonl(
        tmp_path / "q.jsonl",
        [
            {"id": "a", "dialogue_id": "g", "question": "Q1?", "answer": "", "relevant_ids": ["d1"]},
            {"id": "b", "question": "Q2?", "answer": "", "relevant_ids": [], "answerable": False},
        ],
    )
    data = read_training_file(path, knowledge)
    assert data.format == "questions"
    assert [(p.question, p.answer, p.group) for p in data.pairs] == [("Q1?", "From the doc.", "g")]
    assert data.dropped == {"not answerable": 1}


def test_faq_csv(tmp_path: Path) -> None:
    path = tmp_path / "faq.csv"
    path.write_text('Question,Answer\n"How?","Like this."\n', encoding="utf-8")
    data = read_training_file(path)
    assert [(p.question, p.answer) for p in data.pairs] == [("How?", "Like this.")]


def test_faq_csv_without_answer_column_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "faq.csv"
    path.write_text("q,a\nx,y\n", encoding="utf-8")
    with pytest.raises(TrainingDataError, match="'question' and 'answer' columns"):
        read_training_file(path)


def test_conversation_export_keeps_replies_rated_good_with_their_user_turns(tmp_path: Path) -> None:
    def message(role: str, content: str, rating: str | None = None) -> dict[str, object]:
        return {
            "role": role,
            "content": content,
            "created_at": "2026-01-01T00:00:00Z",
            "rating": rating,
            "feedback": None,
            "citations": ["doc-1"] if role == "assistant" else [],
        }

    conversation = {
        "conversation_id": "c1",
        "user_id": "u",
        "channel": "slack",
        "started_at": "2026-01-01T00:00:00Z",
        "messages": [
            message("user", "Hi"),
            message("assistant", "Hello!", None),
            message("user", "My plug is offline."),
            message("user", "It blinks red."),
            message("assistant", "Reset it by holding the button.", "good"),
            message("user", "Thanks"),
            message("assistant", "Bye", "bad"),
        ],
    }
    data = read_training_file(_jsonl(tmp_path / "export.jsonl", [conversation]))
    assert data.format == "conversations"
    [pair] = data.pairs
    assert pair.question == "My plug is offline.\nIt blinks red."
    assert pair.answer == "Reset it by holding the button."
    assert [m.content for m in pair.history] == ["Hi", "Hello!"]
    assert pair.group == "c1" and pair.relevant_ids == ("doc-1",)
    assert data.dropped == {"assistant reply not rated good": 2}


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.jsonl", "", "empty"),
        ("blank.jsonl", "\n\n", "empty"),
        ("other.jsonl", '{"text": "x"}\n', "unknown format"),
        ("bad.jsonl", "{not json\n", "not valid JSON"),
        ("notes.txt", "hello", "unsupported file type"),
    ],
)
def test_bad_files_give_one_clear_line(tmp_path: Path, name: str, content: str, message: str) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(TrainingDataError, match=message) as caught:
        read_training_file(path)
    assert "\n" not in str(caught.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(TrainingDataError, match="not found"):
        read_training_file(tmp_path / "nope.jsonl")
