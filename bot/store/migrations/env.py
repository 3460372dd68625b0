"""Alembic's environment for Deskbot's migrations (`bot.store.schema.upgrade` runs them; there is no alembic.ini).

They run on the connection `upgrade` gives in `config.attributes["connection"]`, inside its locked transaction.
Run another way (the `alembic` command with a configuration naming this folder), they run on the configured store
(`[store] url`, found as `deskbot db upgrade` finds it), without that lock.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from bot.config import load_settings
from bot.store.database import Database, database_url
from bot.store.schema import VERSION_TABLE


def migrate(connection: Connection) -> None:
    context.configure(connection=connection, version_table=VERSION_TABLE)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("Deskbot's migrations run on a database (deskbot db upgrade), not as --sql scripts")
given = context.config.attributes.get("connection")
if given is not None:
    migrate(given)
else:
    loaded = load_settings()
    database = Database.from_settings(loaded, database_url(loaded))
    try:
        with database.engine.begin() as connection:
            migrate(connection)
    finally:
        database.dispose()
