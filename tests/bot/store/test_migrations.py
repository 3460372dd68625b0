"""Schema migrations (`bot.store.schema`) on SQLite and a real PostgreSQL: from the schema before migrations to the
newest with the rows kept, twice in a row, from an older revision, from an unknown newer one, several at once."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

import adapters.http.admin_sessions
import adapters.http.api_keys
import adapters.http.deliveries
import adapters.http.operator_keys
import adapters.http.widget_keys
import adapters.http.worker_heartbeats  # noqa: F401  (their tables join StoreTable.metadata)
import bot.store.curated_answers
import bot.store.rate_limits  # noqa: F401
from bot.store import schema
from bot.store.conversations import SqlConversationStore
from bot.store.database import Database, StoreError, StoreTable
from bot.store.schema import SchemaError
from tests.deskbot_process import free_port, offline_fake_env, without_deskbot_settings

FIXTURES = Path(__file__).parents[2] / "fixtures" / "store"
DESKBOT = str(Path(sys.executable).parent / "deskbot")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.integration)])
def new_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], str]]:
    """Makes empty databases of their own and gives their URLs: SQLite files, or databases on the test PostgreSQL."""
    made: list[str] = []
    if request.param == "sqlite":
        yield lambda: f"sqlite:///{tmp_path / f'deskbot-{uuid.uuid4().hex[:8]}.sqlite'}"
        return
    server = make_url(request.getfixturevalue("postgres_url"))
    admin = create_engine(server, isolation_level="AUTOCOMMIT")

    def make() -> str:
        name = f"migrations_{uuid.uuid4().hex[:12]}"
        with admin.connect() as connection:
            connection.exec_driver_sql(f"CREATE DATABASE {name}")
        made.append(name)
        return server.set(database=name).render_as_string(hide_password=False)

    try:
        yield make
    finally:
        with admin.connect() as connection:
            for name in made:
                connection.exec_driver_sql(f"DROP DATABASE {name} WITH (FORCE)")
        admin.dispose()


@pytest.fixture
def empty_url(new_database: Callable[[], str]) -> str:
    return new_database()


def make_schema_before_migrations(url: str, without: tuple[str, ...] = ()) -> None:
    """The database as `create_all` made it before migrations (DDL recorded from that version), less the tables
    named in `without`."""
    dialect = "sqlite" if url.startswith("sqlite") else "postgresql"
    script = (FIXTURES / f"schema_before_migrations.{dialect}.sql").read_text()
    engine = create_engine(url)
    with engine.begin() as connection:
        for statement in filter(str.strip, script.split(";\n")):
            if not any(f" {table} " in statement.split("(")[0] + " " for table in without):
                connection.exec_driver_sql(statement)
    engine.dispose()


ROWS = {
    "conversations": "INSERT INTO conversations VALUES ('c1', 'u1', 'api', '2026-01-01', '2026-01-02', 0, false)",
    "messages": "INSERT INTO messages (id, conversation_id, role, content, citations, created_at, kind) "
    "VALUES (1, 'c1', 'assistant', 'It ships tomorrow. [1]', '[\"order-tracking\"]', '2026-01-01', 'answer')",
    "feedback": "INSERT INTO feedback VALUES (1, 1, 'c1', 'u1', 'bad', 'too vague', '2026-01-01')",
    "handoffs": "INSERT INTO handoffs VALUES (1, 'c1', 'u1', 'asked', '2026-01-01', NULL)",
    "user_profiles": "INSERT INTO user_profiles VALUES ('u1', 'Ada', 'Plus', 'en', '2026-01-01')",
    "deliveries": "INSERT INTO deliveries VALUES (1, 'slack', 'Ev1', '2026-01-01')",
    "answer_jobs": "INSERT INTO answer_jobs VALUES (1, 'slack', 'Ev1', '{}', 'pending', NULL, 0, '2026-01-01')",
    "api_keys": "INSERT INTO api_keys VALUES (1, 'ci', 'abc123', 'dsk_abcd...', '2026-01-01', NULL)",
}
TABLES_AFTER_0001 = {  # made by later revisions (0003, 0004, 0005, 0006)
    "rate_counts",
    "widget_keys",
    "widget_usage",
    "operator_keys",
    "operator_sessions",
    "curated_answers",
    "answer_workers",
}


def insert_rows(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as connection:
        for table, statement in ROWS.items():
            if engine.dialect.name == "sqlite":
                connection.exec_driver_sql(statement.replace("false", "0"))
                continue
            connection.exec_driver_sql(statement)
            if table not in {"conversations", "user_profiles"}:  # the ids given: the next serial id comes after
                connection.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), 1)")
    engine.dispose()


def row_counts(url: str) -> dict[str, int]:
    engine = create_engine(url)
    with engine.connect() as connection:
        counts = {table: connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one() for table in ROWS}
    engine.dispose()
    return counts


def schema_of(url: str) -> dict[str, Any]:
    """Tables, columns, keys, indexes and unique constraints, as the database reports them."""
    engine = create_engine(url)
    inspector = inspect(engine)
    tables = {}
    for table in sorted(set(inspector.get_table_names()) - {"alembic_version"}):
        foreign_keys = inspector.get_foreign_keys(table)
        tables[table] = {
            "columns": [(c["name"], str(c["type"]), c["nullable"]) for c in inspector.get_columns(table)],
            "primary_key": inspector.get_pk_constraint(table)["constrained_columns"],
            "foreign_keys": sorted(
                (tuple(fk["constrained_columns"]), fk["referred_table"], (fk.get("options") or {}).get("ondelete"))
                for fk in foreign_keys
            ),
            "indexes": sorted(
                (i["name"], tuple(i["column_names"]), bool(i["unique"])) for i in inspector.get_indexes(table)
            ),
            "unique": sorted((u["name"], tuple(u["column_names"])) for u in inspector.get_unique_constraints(table)),
        }
    engine.dispose()
    return tables


def revision_of(url: str) -> str | None:
    engine = create_engine(url)
    with engine.connect() as connection:
        revision = schema.current_revision(connection)
    engine.dispose()
    return revision


def upgrade(url: str, target: str = "head") -> schema.Upgrade:
    engine = create_engine(url)
    try:
        return schema.upgrade(engine, target)
    finally:
        engine.dispose()


def test_revision_0001_is_exactly_the_schema_before_migrations(new_database):
    migrated, before = new_database(), new_database()
    upgrade(migrated, "0001")
    made_by_migrations = schema_of(migrated)
    make_schema_before_migrations(before)
    assert made_by_migrations == schema_of(before)
    assert set(made_by_migrations) == set(ROWS)


def test_the_newest_revision_is_exactly_the_models(empty_url):
    """When this fails, a store table changed without a revision: add one (docs/architecture.md, "Schema")."""
    assert upgrade(empty_url).after == schema.head_revision()
    engine = create_engine(empty_url)
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), StoreTable.metadata)
    engine.dispose()
    assert differences == []


def test_a_database_from_before_migrations_is_adopted_and_upgraded_with_its_rows(empty_url):
    make_schema_before_migrations(empty_url)
    insert_rows(empty_url)
    assert revision_of(empty_url) is None
    done = Database(empty_url).upgrade()
    assert done == schema.Upgrade(before=None, after=schema.head_revision(), adopted=True)
    assert revision_of(empty_url) == schema.head_revision()
    assert row_counts(empty_url) == dict.fromkeys(ROWS, 1)
    store = SqlConversationStore(Database(empty_url))
    (record,) = store.export()
    (answer,) = record["messages"]
    assert answer["content"] == "It ships tomorrow. [1]" and answer["rating"] == "bad"
    assert answer["kind"] == "answer" and answer["retrieval_score"] is None and answer["latency_ms"] is None
    store.append("c1", "u1", "api", "assistant", "Anything else?", kind="answer", retrieval_score=0.7, latency_ms=9.5)
    assert [m["retrieval_score"] for m in next(store.export())["messages"]] == [None, 0.7]


def test_a_database_that_had_opened_only_some_tables_is_adopted(empty_url):
    """A webhook queue's database had only its two tables; a database of an old version no `messages.kind`."""
    make_schema_before_migrations(empty_url, without=("conversations", "messages", "feedback", "handoffs"))
    assert upgrade(empty_url).adopted
    assert set(schema_of(empty_url)) == set(ROWS) | TABLES_AFTER_0001


def test_a_migration_run_twice_is_a_no_op(empty_url):
    first = upgrade(empty_url)
    assert first.before is None and not first.adopted and first.changed
    tables = schema_of(empty_url)
    second = upgrade(empty_url)
    assert second == schema.Upgrade(before=schema.head_revision(), after=schema.head_revision())
    assert not second.changed and schema_of(empty_url) == tables


OLDER_REVISIONS = [script.revision for script in schema.scripts().walk_revisions()][1:]


def test_the_revisions_are_one_line():
    """Two revisions after the same parent (two branches merged) make two heads: renumber one after the other."""
    assert schema.scripts().get_heads() == [schema.head_revision()]


@pytest.mark.parametrize("older", OLDER_REVISIONS)
def test_a_database_at_an_older_revision_is_upgraded_with_its_rows(empty_url, older):
    upgrade(empty_url, older)
    insert_rows(empty_url)
    assert revision_of(empty_url) == older
    done = upgrade(empty_url)
    assert (done.before, done.after) == (older, schema.head_revision())
    assert row_counts(empty_url) == dict.fromkeys(ROWS, 1)
    assert {"retrieval_score", "latency_ms"} <= {c[0] for c in schema_of(empty_url)["messages"]["columns"]}


def test_a_migration_that_fails_leaves_the_database_as_it_was(empty_url):
    upgrade(empty_url, "0001")
    engine = create_engine(empty_url)
    with engine.begin() as connection:  # someone added a column by hand that revision 0002 adds too
        connection.exec_driver_sql("ALTER TABLE messages ADD COLUMN latency_ms FLOAT")
    engine.dispose()
    tables = schema_of(empty_url)
    with pytest.raises(StoreError):
        Database(empty_url).upgrade()
    assert revision_of(empty_url) == "0001"
    assert schema_of(empty_url) == tables, "0002's first column was taken back with the failed second one"


def test_a_database_at_an_unknown_newer_revision_is_refused_in_one_line(empty_url):
    upgrade(empty_url)
    engine = create_engine(empty_url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '0999_from_the_future'"))
    engine.dispose()
    tables = schema_of(empty_url)
    with pytest.raises(SchemaError) as refused:
        Database(empty_url).upgrade()
    message = str(refused.value)
    assert "0999_from_the_future" in message and "newer Deskbot" in message and "\n" not in message
    assert schema_of(empty_url) == tables


def test_processes_starting_together_migrate_the_database_once(empty_url):
    def open_and_upgrade(_n: int) -> schema.Upgrade:
        database = Database(empty_url)  # an engine of its own: as another process would have
        try:
            return database.upgrade()
        finally:
            database.dispose()

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(open_and_upgrade, range(4)))
    assert {result.after for result in results} == {schema.head_revision()}
    assert sum(result.changed for result in results) == 1
    engine = create_engine(empty_url)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM alembic_version")).scalar_one() == 1
    engine.dispose()


def deskbot_db_upgrade(url: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**without_deskbot_settings(os.environ), "DESKBOT_STORE__URL": url}
    return subprocess.run(
        [DESKBOT, "db", "upgrade"], env=env, cwd=cwd, capture_output=True, text=True, check=False, timeout=120
    )


@pytest.mark.integration
@pytest.mark.slow  # three runs of the command line, about 4 s each here
def test_deskbot_db_upgrade_says_what_it_did_in_one_line(tmp_path):
    url = f"sqlite:///{tmp_path / 'deskbot.sqlite'}"
    make_schema_before_migrations(url)
    insert_rows(url)
    adopted = deskbot_db_upgrade(url, tmp_path)
    assert adopted.returncode == 0, adopted.stderr
    assert f"adopted and upgraded to revision {schema.head_revision()}" in adopted.stderr
    again = deskbot_db_upgrade(url, tmp_path)
    assert again.returncode == 0 and "already at schema revision" in again.stderr
    assert row_counts(url) == dict.fromkeys(ROWS, 1)
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '0999'"))
    engine.dispose()
    refused = deskbot_db_upgrade(url, tmp_path)
    assert refused.returncode == 1
    assert refused.stderr.count("\n") == 1 and "revision 0999" in refused.stderr and "Traceback" not in refused.stderr


@pytest.mark.integration
def test_deskbot_serve_upgrades_a_database_from_before_migrations_at_start(tmp_path):
    url = f"sqlite:///{tmp_path / 'deskbot.sqlite'}"
    make_schema_before_migrations(url)
    insert_rows(url)
    port = free_port()
    env = offline_fake_env(
        tmp_path / "cache",
        DESKBOT_STORE__URL=url,
        DESKBOT_CONVERSATION__RETENTION_DAYS="36500",  # the rows are from January: keep them
    )
    server = subprocess.Popen(
        [DESKBOT, "serve", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while revision_of(url) != schema.head_revision() or not listening(port):
            assert server.poll() is None, server.communicate()[1]
            assert time.monotonic() < deadline, "deskbot serve did not upgrade the database and listen"
            time.sleep(0.2)
    finally:
        server.terminate()
        server.communicate(timeout=30)
    kept = {table: count for table, count in row_counts(url).items() if table not in {"deliveries", "answer_jobs"}}
    assert kept == dict.fromkeys(kept, 1) and len(kept) == 6  # the queue's old rows are the server's to prune


def listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def test_a_migration_waits_past_the_usual_busy_timeout_for_another_process_and_restores_it(tmp_path):
    """A first migration on a loaded machine can hold SQLite's write lock longer than an ordinary statement waits."""
    import threading
    import time

    from bot.store.database import Database

    url = f"sqlite:///{tmp_path / 'slow.sqlite'}"
    holder = Database(url)
    holder.upgrade()
    waiting = Database(url)
    with holder.engine.connect() as busy:
        busy.exec_driver_sql("PRAGMA busy_timeout=100")
        busy.exec_driver_sql("BEGIN IMMEDIATE")
        with waiting.engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA busy_timeout=200")  # shorter than the lock is held below
            connection.commit()
        release = threading.Timer(1.0, busy.rollback)
        release.start()
        started = time.monotonic()
        assert waiting.upgrade().before == waiting.upgrade().after
        assert time.monotonic() - started >= 0.9, "it waited for the lock instead of failing"
        release.join()
    with waiting.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 200, "its own timeout is back"
