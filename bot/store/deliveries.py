"""Deliveries already handled, so a retried or duplicated webhook is answered once, by whichever worker sees it first.

`Deliveries.claim(source, delivery_id)` inserts a row under a unique key; the insert that wins the race answers the
event, every later one (a Slack retry, a second worker) gets False. The database, not process memory, is the arbiter.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import UniqueConstraint, delete, insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field

from bot.store.database import Database, StoreTable


class Delivery(StoreTable, table=True):
    __tablename__ = "deliveries"
    __table_args__ = (UniqueConstraint("source", "delivery_id", name="uq_deliveries_source_id"),)

    id: int | None = Field(default=None, primary_key=True)
    source: str
    delivery_id: str
    received_at: datetime = Field(default_factory=lambda: datetime.now(UTC), index=True)


class Deliveries:
    def __init__(self, database: Database) -> None:
        self._database = database
        StoreTable.metadata.create_all(database.engine, tables=[Delivery.__table__])  # type: ignore[attr-defined]

    def claim(self, source: str, delivery_id: str) -> bool:
        """True the first time `(source, delivery_id)` is seen, in any process sharing the database."""
        table = Delivery.__table__  # type: ignore[attr-defined]
        row = {"source": source, "delivery_id": delivery_id, "received_at": datetime.now(UTC)}
        try:
            with self._database.engine.begin() as connection:
                connection.execute(insert(table).values(**row))
        except IntegrityError:
            return False
        return True

    def forget_older_than(self, age: timedelta) -> int:
        """Delete records older than `age` (retries stop after minutes); returns how many went."""
        cutoff = datetime.now(UTC) - age
        with self._database.session() as session:
            statement = delete(Delivery).where(Delivery.__table__.c.received_at < cutoff)  # type: ignore[attr-defined]
            result = session.exec(statement)  # type: ignore[call-overload]
            session.commit()
            return int(result.rowcount or 0)
