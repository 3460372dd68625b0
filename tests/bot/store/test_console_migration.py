"""Revision 0005 (the operator console) on SQLite and a real PostgreSQL: a database at 0004 with its rows is
upgraded, its messages get a NULL `operator`, the console's tables work, and running the upgrade again changes
nothing."""

from __future__ import annotations

from sqlalchemy import create_engine, text

from adapters.http.admin_sessions import OperatorSessions
from adapters.http.operator_keys import OperatorKeys
from bot.store import schema
from bot.store.curated_answers import CuratedAnswers
from bot.store.database import Database
from bot.store.inbox import Inbox
from bot.store.operator_actions import OperatorActions
from tests.bot.store.test_migrations import empty_url, insert_rows, new_database, row_counts, schema_of, upgrade

__all__ = ["empty_url", "new_database"]  # the fixtures, shared with test_migrations


def test_a_database_at_0004_is_upgraded_to_0005_with_its_rows_and_again_is_a_no_op(empty_url):
    upgrade(empty_url, "0004")
    insert_rows(empty_url)
    counts = row_counts(empty_url)
    done = upgrade(empty_url)
    assert (done.before, done.after) == ("0004", schema.head_revision()) and schema.head_revision() >= "0005"
    assert row_counts(empty_url) == counts
    tables = schema_of(empty_url)
    assert {"operator_keys", "operator_sessions", "curated_answers"} <= set(tables)
    assert ("operator", "VARCHAR(64)", True) in tables["messages"]["columns"]
    engine = create_engine(empty_url)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT operator FROM messages")).scalars().all() == [None]
    engine.dispose()
    again = upgrade(empty_url)
    assert not again.changed and schema_of(empty_url) == tables

    database = Database(empty_url)
    key = OperatorKeys(database).create("ada")
    assert OperatorKeys(database).verify(key) == "ada"
    token = OperatorSessions(database).open("ada")
    assert OperatorSessions(database).operator(token) == "ada"
    actions = OperatorActions(database)
    assert actions.take_over("c1", "ada"), "the bot held c1 (its old handoff row is not an open one)"
    reply = actions.reply("c1", "ada", "A person here.")
    thread = Inbox(database).thread("c1")
    assert thread is not None and thread.messages[-1].operator == "ada" and thread.messages[-1].id == reply.message_id
    answer = CuratedAnswers(database).add("Is it waterproof?", "No.", "ada", "c1", 1)
    assert CuratedAnswers(database).all() == [answer]
    database.dispose()
