"""`Inbox` and `OperatorActions` on SQLite and a real PostgreSQL: every filter, pages, unanswered questions (a
handoff by command charged to the question before it), and a reply only while a person holds the conversation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.store.conversations import SqlConversationStore
from bot.store.database import Database
from bot.store.inbox import Inbox, InboxFilter
from bot.store.operator_actions import ConversationNotFoundError, ConversationNotHeldError, OperatorActions
from tests.bot.store.test_migrations import empty_url, new_database

__all__ = ["empty_url", "new_database"]  # the fixtures, shared with test_migrations


@pytest.fixture
def database(empty_url):
    database = Database(empty_url)
    yield database
    database.dispose()


def test_filters_pages_and_unanswered_questions(database):
    store = SqlConversationStore(database)
    store.append("a", "u", "api", "user", "Do you ship to Mars?")
    store.append("a", "u", "api", "assistant", "I don't know.", kind="abstain")
    store.append("b", "u", "widget", "user", "Is 100% cotton washable?")
    store.append("b", "u", "widget", "assistant", "Yes.", kind="answer")
    store.rate_last_answer("b", "u", "bad")
    store.append("c", "u", "slack", "user", "My invoice is wrong")
    store.append("c", "u", "slack", "assistant", "Here is how to read it.", kind="answer")
    store.append("c", "u", "slack", "user", "/human")
    store.start_handoff("c", "u", "slack")
    inbox = Inbox(database)

    def ids(**filters: object) -> list[str]:
        return [c.id for c in inbox.conversations(InboxFilter(**filters)).conversations]  # type: ignore[arg-type]

    assert ids() == ["c", "b", "a"]
    assert ids(abstained=True) == ["a"] and ids(rated_bad=True) == ["b"] and ids(handed_off=True) == ["c"]
    assert ids(channel="slack") == ["c"] and ids(text="100%") == ["b"] and ids(text="00_") == []
    assert ids(since=datetime.now(UTC) + timedelta(hours=1)) == []
    assert ids(until=datetime.now(UTC) + timedelta(hours=1)) == ["c", "b", "a"]
    page = inbox.conversations(InboxFilter(), page=2, per_page=2)
    assert [c.id for c in page.conversations] == ["a"] and page.total == 3
    found = {(q.conversation_id, q.text, q.why) for q in inbox.unanswered()}
    assert found == {
        ("a", "Do you ship to Mars?", "abstained"),
        ("b", "Is 100% cotton washable?", "rated bad"),
        ("c", "My invoice is wrong", "handed off"),
    }
    assert inbox.unanswered(since=datetime.now(UTC) + timedelta(hours=1)) == []


def test_a_reply_needs_a_person_to_hold_the_conversation(database):
    store = SqlConversationStore(database)
    store.append("a", "u", "api", "user", "Hello")
    actions = OperatorActions(database)
    with pytest.raises(ConversationNotHeldError):
        actions.reply("a", "ada", "Hi")
    with pytest.raises(ConversationNotFoundError):
        actions.reply("nope", "ada", "Hi")
    assert actions.take_over("a", "ada") and not actions.take_over("a", "ada")
    reply = actions.reply("a", "ada", "Hi, Ada here")
    thread = Inbox(database).thread("a")
    assert thread is not None and thread.conversation.with_person
    assert [(m.role, m.kind, m.operator) for m in thread.messages] == [
        ("user", None, None),
        ("assistant", "human", "ada"),
    ]
    assert thread.messages[-1].id == reply.message_id and thread.handoffs[0].reason == "taken over by ada"
    assert actions.release("a") and not store.handed_off("a")
    with pytest.raises(ConversationNotHeldError):
        actions.reply("a", "ada", "one more")
