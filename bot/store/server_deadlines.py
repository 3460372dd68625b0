"""`ServerDeadlines`: a database connection that waits on its server past a deadline is cut, so that a hung server
fails a request instead of holding it forever.

PostgreSQL's own `statement_timeout` ends a statement that runs too long, but only while the server runs: a server
that is stopped (SIGSTOP, a frozen VM, a network path that swallows packets) still has its socket acknowledged by the
kernel and never answers, and libpq waits for it without end. So every wait of a checked-out connection (a
statement, a commit, a rollback, the ping on checkout) renews the connection's deadline, `wait_s` ahead, and one
daemon thread shuts the socket of any connection whose deadline passed: the waiting call fails at once with the
driver's `OperationalError` ("server closed the connection"), SQLAlchemy discards the connection, and the store turns
the error into a `StoreError` (a 503 with `Retry-After` on the HTTP routes). A connection goes back to the pool
unwatched (`forget`), so pooled idle connections are never cut.

`wait_s` is set a little longer than `statement_timeout`, so that on a server that runs the server's own cancel comes
first and the connection stays usable; a statement that is meant to wait longer (the migration lock) says so with the
`SERVER_WAIT_OPTION` execution option.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
from typing import Any

log = logging.getLogger(__name__)

SERVER_WAIT_OPTION = "deskbot_server_wait_s"
"""An execution option: the seconds the statements of this connection may wait on the server (default `wait_s`)."""

_POLL_S = 0.1  # how often the watching thread looks at the deadlines


class ServerDeadlines:
    def __init__(self, wait_s: float) -> None:
        self.wait_s = wait_s
        self._deadlines: dict[int, tuple[float, Any]] = {}  # id(driver connection) -> (deadline, the connection)
        self._lock = threading.Lock()
        self._stop_watching: threading.Event | None = None  # set while a watching thread runs

    def renew(self, driver_connection: Any, wait_s: float | None = None) -> None:
        """The connection is about to wait on the server: it may do so for `wait_s` (default `self.wait_s`)."""
        deadline = time.monotonic() + (wait_s if wait_s is not None else self.wait_s)
        with self._lock:
            self._deadlines[id(driver_connection)] = (deadline, driver_connection)
            if self._stop_watching is None:
                self._stop_watching = threading.Event()
                watcher = threading.Thread(
                    target=self._watch, args=(self._stop_watching,), name="deskbot-db-deadlines", daemon=True
                )
                watcher.start()

    def forget(self, driver_connection: Any) -> None:
        """The connection waits on nothing any more (it went back to the pool, or was closed)."""
        with self._lock:
            self._deadlines.pop(id(driver_connection), None)

    def stop(self) -> None:
        """Stop the watching thread (a later `renew` starts another: a disposed engine can be used again)."""
        with self._lock:
            if self._stop_watching is not None:
                self._stop_watching.set()
                self._stop_watching = None

    def _watch(self, stopped: threading.Event) -> None:
        while not stopped.wait(_POLL_S):
            now = time.monotonic()
            with self._lock:
                expired = [conn for key, (deadline, conn) in self._deadlines.items() if deadline < now]
                for connection in expired:
                    del self._deadlines[id(connection)]
            for connection in expired:
                _cut(connection)


def _cut(driver_connection: Any) -> None:
    """Shut the connection's socket, so that whatever waits on it returns with an error. A closed connection has
    no socket any more (its descriptor may belong to another file by now) and is left alone."""
    try:
        if driver_connection.closed:
            return
        descriptor = driver_connection.fileno()
    except Exception:  # a driver connection that is gone has nothing to cut
        return
    log.error("the database server did not answer in time: cutting the connection")
    with socket.socket(fileno=os.dup(descriptor)) as duplicate, contextlib.suppress(OSError):  # OSError: gone
        duplicate.shutdown(socket.SHUT_RDWR)
