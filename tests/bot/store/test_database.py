"""`Database.write_first_in_line`: a write someone waits on gets SQLite's write lock soon after it is free, even
behind a writer that keeps taking it, and fails with one clear `StoreError` when it never comes."""

from __future__ import annotations

import sqlite3
import threading
import time

import pytest
from sqlalchemy import text

from bot.store import database as database_module
from bot.store.database import Database, StoreError


@pytest.fixture
def database(tmp_path):
    database = Database(f"sqlite:///{tmp_path / 'queue.sqlite'}")
    with database.transaction("make the table") as connection:
        connection.exec_driver_sql("CREATE TABLE acks (n INTEGER)")
    yield database
    database.dispose()


def insert_one(connection):
    connection.execute(text("INSERT INTO acks (n) VALUES (1)"))
    return "written"


def busy_writer(path, stop: threading.Event) -> None:
    """Another process's writer that holds the lock 20 ms at a time with 2 ms gaps (an answer worker taking jobs)."""
    other = sqlite3.connect(path, isolation_level=None, timeout=30)
    while not stop.is_set():
        other.execute("BEGIN IMMEDIATE")
        time.sleep(0.02)
        other.execute("COMMIT")
        time.sleep(0.002)
    other.close()


def test_a_write_gets_in_between_the_transactions_of_a_busy_writer(database, tmp_path):
    stop = threading.Event()
    writer = threading.Thread(target=busy_writer, args=(tmp_path / "queue.sqlite", stop))
    writer.start()
    try:
        time.sleep(0.1)
        started = time.monotonic()
        assert database.write_first_in_line("write an ack", insert_one) == "written"
        # SQLite's busy handler tries every 100 ms by then, and hits a 2 ms gap about once in ten tries
        assert time.monotonic() - started < 1.5
    finally:
        stop.set()
        writer.join()
    with database.transaction("count") as connection:
        assert connection.exec_driver_sql("SELECT count(*) FROM acks").scalar() == 1
        busy_timeout = connection.exec_driver_sql("PRAGMA busy_timeout").scalar()
        assert busy_timeout == 30_000, "the other writes still wait in the busy handler"


def test_a_lock_that_never_comes_free_is_a_store_error(database, tmp_path, monkeypatch):
    monkeypatch.setattr(database_module, "BUSY_TIMEOUT_MS", 200)
    other = sqlite3.connect(tmp_path / "queue.sqlite", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    with pytest.raises(StoreError, match="cannot write an ack"):
        database.write_first_in_line("write an ack", insert_one)
    other.execute("ROLLBACK")
    other.close()


def test_another_database_error_is_a_store_error_at_once(database):
    started = time.monotonic()
    with pytest.raises(StoreError, match=r"cannot write an ack \(OperationalError\)"):
        database.write_first_in_line("write an ack", lambda c: c.execute(text("INSERT INTO missing VALUES (1)")))
    assert time.monotonic() - started < 1.0


def test_a_new_file_opened_while_another_connection_writes_it_waits_to_switch_to_wal(tmp_path):
    """Switching a file that is not in WAL mode yet to WAL fails at once ("database is locked", whatever the busy
    timeout) while another connection holds its write lock, as the first of several processes opening a new queue
    at once does while it switches: the others failed now and then
    (`test_processes_opening_a_new_queue_at_once_all_get_it`). Now the switch waits for the lock."""
    path = tmp_path / "new.sqlite"
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")  # the write lock, on a file still in rollback mode
    opened: list[object] = []

    def open_database() -> None:
        try:
            database = Database(f"sqlite:///{path}")
            database.check()
            database.dispose()
            opened.append("opened")
        except StoreError as error:
            opened.append(error)

    opening = threading.Thread(target=open_database)
    opening.start()
    time.sleep(0.3)
    writer.execute("COMMIT")
    writer.close()
    opening.join(10)
    assert opened == ["opened"]
    assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0] == "wal"
