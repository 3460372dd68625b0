"""`CuratedAnswers`: the answers operators write in the console for questions the bot answered badly or not at all.

Each is a question, the operator's answer, who wrote it and, when it was made from an exchange, the conversation and
the customer's message it came from. The table is the record; what customers are served is the knowledge index,
which `bot.curation` keeps in step with it (each answer is an FAQ document there, answered verbatim).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Table, delete, insert, update
from sqlalchemy import select as core_select
from sqlmodel import Field

from bot.store.database import Database, StoreTable, aware

MAX_QUESTION_CHARS = 500
MAX_ANSWER_CHARS = 4_000


class CuratedAnswerRow(StoreTable, table=True):
    __tablename__ = "curated_answers"

    id: int | None = Field(default=None, primary_key=True)
    question: str
    answer: str
    operator: str = Field(max_length=64)
    conversation_id: str | None = Field(default=None, max_length=200)
    message_id: int | None = None
    created_at: datetime
    updated_at: datetime


CURATED: Table = CuratedAnswerRow.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class CuratedAnswer:
    id: int
    question: str
    answer: str
    operator: str
    conversation_id: str | None
    message_id: int | None
    created_at: datetime
    updated_at: datetime


def _answer(row: object) -> CuratedAnswer:
    values = row._mapping  # type: ignore[attr-defined]
    return CuratedAnswer(
        id=values["id"],
        question=values["question"],
        answer=values["answer"],
        operator=values["operator"],
        conversation_id=values["conversation_id"],
        message_id=values["message_id"],
        created_at=aware(values["created_at"]),
        updated_at=aware(values["updated_at"]),
    )


class CuratedAnswers:
    def __init__(self, database: Database) -> None:
        self._database = database
        database.upgrade()

    def add(
        self,
        question: str,
        answer: str,
        operator: str,
        conversation_id: str | None = None,
        message_id: int | None = None,
    ) -> CuratedAnswer:
        now = datetime.now(UTC)
        row = {
            "question": question,
            "answer": answer,
            "operator": operator,
            "conversation_id": conversation_id,
            "message_id": message_id,
            "created_at": now,
            "updated_at": now,
        }
        with self._database.transaction("store a curated answer", part="curated answers") as connection:
            new_id = connection.execute(insert(CURATED).returning(CURATED.c.id), row).scalar_one()
        found = self.get(new_id)
        assert found is not None
        return found

    def get(self, answer_id: int) -> CuratedAnswer | None:
        query = core_select(CURATED).where(CURATED.c.id == answer_id)
        with self._database.transaction("read a curated answer", part="curated answers") as connection:
            row = connection.execute(query).first()
        return None if row is None else _answer(row)

    def all(self) -> list[CuratedAnswer]:
        """Every curated answer, newest first."""
        query = core_select(CURATED).order_by(CURATED.c.updated_at.desc(), CURATED.c.id.desc())
        with self._database.transaction("list curated answers", part="curated answers") as connection:
            return [_answer(row) for row in connection.execute(query)]

    def edit(self, answer_id: int, question: str, answer: str, operator: str) -> CuratedAnswer | None:
        """The answer after the change (`operator` is who changed it last); None when there is no such answer."""
        change = (
            update(CURATED)
            .where(CURATED.c.id == answer_id)
            .values(question=question, answer=answer, operator=operator, updated_at=datetime.now(UTC))
        )
        with self._database.transaction("change a curated answer", part="curated answers") as connection:
            changed = connection.execute(change).rowcount
        return self.get(answer_id) if changed else None

    def remove(self, answer_id: int) -> bool:
        with self._database.transaction("delete a curated answer", part="curated answers") as connection:
            return bool(connection.execute(delete(CURATED).where(CURATED.c.id == answer_id)).rowcount)
