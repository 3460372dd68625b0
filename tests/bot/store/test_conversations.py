"""Conformance of every `ConversationStore`: in-memory, SQLite and a real PostgreSQL server."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest

from bot.conversations import ConversationStore, InMemoryConversationStore, utc_now
from bot.store.conversations import SqlConversationStore
from bot.store.database import Database, StoreError

SCHEMA_BEFORE_MIGRATIONS = Path(__file__).parents[2] / "fixtures" / "store" / "schema_before_migrations.sqlite.sql"


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.integration)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ConversationStore]:
    if request.param == "memory":
        yield InMemoryConversationStore()
        return
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    else:
        url = request.getfixturevalue("postgres_url")
    database = Database(url)
    sql_store = SqlConversationStore(database)
    yield sql_store
    database.dispose()


def cid() -> str:
    return uuid.uuid4().hex


def test_implements_protocol(store):
    assert isinstance(store, ConversationStore)


def test_history_is_ordered_limited_and_reset(store):
    c = cid()
    for n in range(5):
        store.append(c, "u1", "api", "user" if n % 2 == 0 else "assistant", f"m{n}")
    assert [m.content for m in store.history(c, 3)] == ["m2", "m3", "m4"]
    assert store.history(c, 0) == []
    store.reset(c)
    assert store.history(c) == []
    store.append(c, "u1", "api", "user", "after")
    assert [m.content for m in store.history(c)] == ["after"]
    assert store.history(cid()) == []


def test_feedback_rates_last_assistant_message_and_export(store):
    c = cid()
    assert not store.rate_last_answer(c, "u1", "good")
    store.append(c, "u1", "slack", "user", "Where is my order?")
    store.append(c, "u1", "slack", "assistant", "It ships tomorrow. [1]", citations=["order-tracking"])
    assert store.rate_last_answer(c, "u1", "bad", "too vague")
    unrated = cid()
    store.append(unrated, "u2", "api", "user", "hi")
    records = {r["conversation_id"]: r for r in store.export()}
    assert unrated in records
    record = records[c]
    assert set(record) == {"conversation_id", "user_id", "channel", "started_at", "messages"}
    assert record["user_id"] == "u1" and record["channel"] == "slack"
    answer = record["messages"][1]
    assert set(answer) == {
        "role",
        "content",
        "created_at",
        "rating",
        "feedback",
        "citations",
        "kind",
        "retrieval_score",
        "latency_ms",
    }
    assert answer["rating"] == "bad" and answer["feedback"] == "too vague"
    assert answer["citations"] == ["order-tracking"]
    assert record["messages"][0]["rating"] is None and record["messages"][0]["citations"] == []
    assert "+00:00" in answer["created_at"]
    rated = [r["conversation_id"] for r in store.export(rated_only=True)]
    assert c in rated and unrated not in rated


def test_canned_replies_stay_in_the_transcript_but_out_of_the_history(store):
    c = cid()
    store.append(c, "u1", "api", "user", "Can I pay with bitcoin?")
    store.append(c, "u1", "api", "assistant", "I couldn't find an answer to that.", kind="abstain")
    store.append(c, "u1", "api", "user", "And by card?")
    store.append(c, "u1", "api", "assistant", "Yes, we take cards. [1]", kind="answer")
    store.append(c, "u1", "api", "assistant", "Something went wrong on our side.", kind="error")
    history = store.history(c)
    assert [m.content for m in history] == ["Can I pay with bitcoin?", "And by card?", "Yes, we take cards. [1]"]
    (record,) = [r for r in store.export() if r["conversation_id"] == c]
    assert [m["kind"] for m in record["messages"]] == [None, "abstain", None, "answer", "error"]


def test_a_reply_keeps_its_kind_best_retrieval_score_and_latency(store):
    c = cid()
    store.append(c, "u1", "api", "user", "Can I pay with bitcoin?")
    store.append(
        c,
        "u1",
        "api",
        "assistant",
        "I couldn't find an answer.",
        kind="abstain",
        retrieval_score=0.21,
        latency_ms=812.5,
    )
    store.append(c, "u1", "api", "assistant", "Hello!", kind="command")
    (record,) = [r for r in store.export() if r["conversation_id"] == c]
    measures = [(m["kind"], m["retrieval_score"], m["latency_ms"]) for m in record["messages"]]
    assert measures == [(None, None, None), ("abstain", 0.21, 812.5), ("command", None, None)]


def test_a_database_made_before_message_kinds_is_upgraded_on_first_use(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    with sqlite3.connect(tmp_path / "old.sqlite") as old:  # the schema before migrations, less messages.kind
        old.executescript(SCHEMA_BEFORE_MIGRATIONS.read_text().replace("kind VARCHAR(20),", ""))
        old.execute(
            "INSERT INTO conversations (id, user_id, channel, started_at, updated_at, reset_after, handed_off) "
            "VALUES ('c1', 'u1', 'api', '2026-01-01 00:00:00', '2026-01-01 00:00:00', 0, 0)"
        )
        old.execute(
            "INSERT INTO messages (conversation_id, role, content, citations, created_at) "
            "VALUES ('c1', 'assistant', 'stored before', '[]', '2026-01-01 00:00:00')"
        )
    store = SqlConversationStore(Database(url))
    store.append("c1", "u1", "api", "assistant", "I couldn't find an answer to that.", kind="abstain")
    assert [m.content for m in store.history("c1")] == ["stored before"]
    (record,) = store.export()
    assert [m["kind"] for m in record["messages"]] == [None, "abstain"]


def test_handoff_and_release(store):
    c = cid()
    assert not store.handed_off(c)
    store.start_handoff(c, "u1", "discord", "asked for a human")
    store.start_handoff(c, "u1", "discord")
    assert store.handed_off(c)
    assert store.release_handoff(c)
    assert not store.handed_off(c)
    assert not store.release_handoff(c)


def test_profile_keeps_known_facts_only(store):
    user = cid()
    assert store.profile(user) == {}
    store.update_profile(user, {"name": "Ada", "plan": "Plus", "shoe_size": "42"})
    store.update_profile(user, {"language": "German"})
    assert store.profile(user) == {"name": "Ada", "plan": "Plus", "language": "German"}


def test_purge_deletes_idle_conversations(store):
    old, new = cid(), cid()
    store.append(old, "u1", "api", "user", "old")
    store.append(old, "u1", "api", "assistant", "reply")
    store.rate_last_answer(old, "u1", "good")
    store.start_handoff(old, "u1", "api")
    cutoff = utc_now() + timedelta(seconds=1)
    assert store.purge(cutoff) >= 1
    store.append(new, "u1", "api", "user", "new")
    assert store.history(old) == []
    assert [m.content for m in store.history(new)] == ["new"]


def test_concurrent_first_messages_create_one_conversation_and_keep_every_message(store):
    """Workers racing to store the first message of the same new conversations: nothing lost, no error."""
    conversations = [cid() for _ in range(10)]

    def send(worker: int) -> None:
        for conversation_id in conversations:
            store.append(conversation_id, "u1", "slack", "user", f"from worker {worker}")

    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(send, range(6)))
    for conversation_id in conversations:
        texts = sorted(message.content for message in store.history(conversation_id, 50))
        assert texts == [f"from worker {worker}" for worker in range(6)]


def test_store_that_is_down_raises_store_error():
    store = SqlConversationStore(Database("postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2"))
    with pytest.raises(StoreError) as raised:
        store.history("c1")
    assert "\n" not in str(raised.value)


def test_warm_up_upgrades_the_schema_before_the_first_turn(tmp_path, caplog):
    store = SqlConversationStore(Database(f"sqlite:///{tmp_path / 'store.db'}"))
    store.warm_up()
    tables = sqlite3.connect(tmp_path / "store.db").execute("select name from sqlite_master where type = 'table'")
    assert {"conversations", "messages"} <= {name for (name,) in tables}
    down = SqlConversationStore(Database("postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2"))
    down.warm_up()  # a database that is down at start is logged, not raised
    assert "not ready at start" in caplog.text
    with pytest.raises(StoreError):  # and the turns that need it still get the StoreError they handle
        down.history("c1")
    InMemoryConversationStore().warm_up()


@pytest.mark.integration
async def test_runtime_stores_turns_in_postgres_by_url(postgres_url, settings, registry):
    from bot.runtime import Runtime
    from bot.types import Message

    settings.store.url = postgres_url
    runtime = Runtime(settings, registry)
    reply = await runtime.engine().handle(Message(text="What is the returns policy?", conversation_id="pg-turn"))
    assert isinstance(runtime.conversations(), SqlConversationStore)
    stored = runtime.conversations().history("pg-turn")
    assert [m.role for m in stored] == ["user", "assistant"] and stored[1].content == reply.text
