"""`ServerDeadlines`: a connection waiting on a server that never answers is cut at its deadline; one that went back
to the pool, or was closed, is left alone (tests/faults/test_database_hung.py does the same on a stopped PostgreSQL)."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from bot.store.server_deadlines import ServerDeadlines


@dataclass
class DriverConnection:
    """What the deadlines need of a driver connection (psycopg's has both): its socket, and whether it is closed."""

    client: socket.socket
    closed: bool = False

    def fileno(self) -> int:
        return self.client.fileno()


@pytest.fixture
def connection() -> Iterator[DriverConnection]:
    client, server = socket.socketpair()  # the server end never answers
    yield DriverConnection(client)
    client.close()
    server.close()


@pytest.fixture
def deadlines() -> Iterator[ServerDeadlines]:
    watched = ServerDeadlines(wait_s=0.3)
    yield watched
    watched.stop()


def test_a_wait_past_its_deadline_is_cut(connection, deadlines):
    started = time.monotonic()
    deadlines.renew(connection)
    connection.client.settimeout(5)
    assert connection.client.recv(1) == b"", "the read returns: the socket was shut"
    assert 0.25 < time.monotonic() - started < 2.0


def test_a_renewed_deadline_moves_and_a_forgotten_connection_is_not_cut(connection, deadlines):
    for _ in range(4):
        deadlines.renew(connection, 0.3)
        time.sleep(0.15)
    deadlines.forget(connection)
    time.sleep(0.5)
    connection.client.settimeout(0.05)
    with pytest.raises(TimeoutError):
        connection.client.recv(1)  # still connected: nothing to read, no end of file


def test_a_closed_connection_is_left_alone(connection, deadlines):
    connection.closed = True  # its descriptor may belong to another file by now
    deadlines.renew(connection, 0.1)
    time.sleep(0.4)
    connection.client.settimeout(0.05)
    with pytest.raises(TimeoutError):
        connection.client.recv(1)


def test_the_watcher_starts_again_after_stop(connection, deadlines):
    deadlines.stop()
    deadlines.renew(connection, 0.1)
    connection.client.settimeout(5)
    assert connection.client.recv(1) == b""
