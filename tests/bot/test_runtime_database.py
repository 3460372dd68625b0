import pytest

import bot.store.database as database_module
from bot.runtime import Runtime
from bot.store.conversations import SqlConversationStore
from bot.store.database import database_url


def test_the_conversation_store_uses_the_runtimes_one_database_engine(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    made: list[str] = []
    create_engine = database_module.create_engine
    monkeypatch.setattr(
        database_module, "create_engine", lambda url, **kw: made.append(url) or create_engine(url, **kw)
    )
    store = runtime.conversations()
    assert isinstance(store, SqlConversationStore)
    assert store.database is runtime.database()
    assert made == [database_url(runtime.settings)], "one engine (and connection pool) per URL"
    store.append("c1", "u1", "api", "user", "hello")  # its tables are created on first use
    assert [message.content for message in store.history("c1")] == ["hello"]
