"""Deskbot's database schema under Alembic: `upgrade(engine)` brings any Deskbot database to the newest revision.

The revisions are the files in `bot/store/migrations/versions/` (shipped as package data; no alembic.ini is needed):
`0001` is the schema every store table had before migrations existed, `0002` onwards add what came after. `upgrade`
runs them on one connection, in one transaction that first takes a lock, so worker processes starting together
migrate the database once and the others wait and find it done:

- SQLite: `BEGIN IMMEDIATE`, the database's write lock (the others wait up to `LOCK_WAIT_S`, longer than the busy
  timeout of ordinary statements: a first migration on a loaded machine can take many seconds);
- PostgreSQL: a transaction-scoped advisory lock (`pg_advisory_xact_lock`).

Both run DDL inside the transaction, so a migration that fails leaves the database as it was, at its old revision.

A database made by `create_all` before migrations existed has no `alembic_version` table. Revision `0001` creates
only what such a database lacks (the tables a process had not opened yet, the `messages.kind` column of later
versions), so it is adopted as revision 0001 with its data, then upgraded like any other. A database at a revision
this version does not know (a newer Deskbot upgraded it) is refused with one line, before anything is changed.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, inspect, text

from bot.store.server_deadlines import SERVER_WAIT_OPTION
from knowledge.errors import DeskbotError

if TYPE_CHECKING:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).with_name("migrations")
VERSION_TABLE = "alembic_version"
ADVISORY_LOCK_KEY = 0x6465736B626F74  # "deskbot": the one lock every Deskbot process takes to migrate
LOCK_WAIT_S = 300


class SchemaError(DeskbotError):
    """The database's schema cannot be brought to this version's (unknown revision, failed migration)."""


@dataclass(frozen=True)
class Upgrade:
    """What `upgrade` did: the revision the database was at (None: no Deskbot schema, or one made before
    migrations) and the one it is at now; `adopted`: it was a database made before migrations."""

    before: str | None
    after: str
    adopted: bool = False

    @property
    def changed(self) -> bool:
        return self.before != self.after


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic's configuration for Deskbot's migrations, on `connection` when given (`env.py` uses it)."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def scripts() -> ScriptDirectory:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config())


def head_revision() -> str:
    head = scripts().get_current_head()
    assert head is not None, f"no migrations in {MIGRATIONS}"
    return head


def current_revision(connection: Connection) -> str | None:
    """The revision stamped in the database; None when it has no `alembic_version` table."""
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(connection).get_current_revision()


@contextmanager
def _patient(connection: Connection) -> Iterator[None]:
    """The connection waits up to `LOCK_WAIT_S` for the lock meanwhile: on SQLite in its busy handler (its own busy
    timeout after), on PostgreSQL past the session's statement and lock timeouts (`bot.store.database`) for this
    transaction (`SET LOCAL`)."""
    if connection.dialect.name == "postgresql":
        connection.execution_options(**{SERVER_WAIT_OPTION: LOCK_WAIT_S + 1})
        connection.exec_driver_sql(f"SET LOCAL statement_timeout = '{LOCK_WAIT_S}s'")
        connection.exec_driver_sql(f"SET LOCAL lock_timeout = '{LOCK_WAIT_S}s'")
    if connection.dialect.name != "sqlite":
        yield
        return
    usual = connection.exec_driver_sql("PRAGMA busy_timeout").scalar()
    connection.exec_driver_sql(f"PRAGMA busy_timeout={LOCK_WAIT_S * 1000}")
    try:
        yield
    finally:
        connection.exec_driver_sql(f"PRAGMA busy_timeout={int(usual or 0)}")


def _lock(connection: Connection) -> None:
    """Begin the migration's transaction holding the lock that keeps other Deskbot processes out until it ends."""
    dialect = connection.dialect.name
    if dialect == "sqlite":
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    elif dialect == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY})


def upgrade(engine: Engine, target: str = "head") -> Upgrade:
    """Apply the migrations the database lacks, up to `target` (a revision id, or "head"); see the module docstring.
    Running it again is a no-op."""
    from alembic import command
    from alembic.util.exc import CommandError

    directory = scripts()
    with engine.connect() as connection, _patient(connection):
        _lock(connection)
        before = current_revision(connection)
        if before is not None and before not in {script.revision for script in directory.walk_revisions()}:
            url = engine.url.render_as_string(hide_password=True)
            raise SchemaError(
                f"the database at {url} is at schema revision {before}, which this Deskbot does not know "
                f"(its newest is {directory.get_current_head()}): it was upgraded by a newer Deskbot; upgrade "
                "Deskbot, or use a database of its own"
            )
        adopted = before is None and bool(set(inspect(connection).get_table_names()) - {VERSION_TABLE})
        if adopted:
            log.info("adopting a database made before schema migrations as revision 0001")
        try:
            command.upgrade(alembic_config(connection), target)
        except CommandError as error:
            raise SchemaError(f"cannot upgrade the database schema to {target}: {error}") from error
        after = current_revision(connection)
        connection.commit()
    assert after is not None
    if after != before:
        log.info("database schema upgraded from %s to %s", before or "nothing", after)
    return Upgrade(before, after, adopted)
