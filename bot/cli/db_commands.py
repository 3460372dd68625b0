"""`deskbot db upgrade`: apply the schema migrations (`bot.store.schema`) to the configured store's database.

`deskbot serve`, and every command that opens the store, does the same at start; this command does it on its own,
for a deployment step that migrates before new servers start. It upgrades `[store] url` (the SQLite file in the data
folder by default), and `[store] queue_url` too when that names another database.
"""

from __future__ import annotations

import typer

from bot.cli.console import err
from bot.cli.groups import db_app
from bot.cli.main import settings


def upgrade() -> None:
    """Bring the database to the newest schema revision; a database made before migrations is adopted with its rows."""
    from bot.store.database import Database, database_url

    loaded = settings()
    urls = [database_url(loaded)]
    if loaded.store.queue_url and loaded.store.queue_url not in urls:
        urls.append(loaded.store.queue_url)
    for url in urls:
        database = Database.from_settings(loaded, url)
        try:
            done = database.upgrade()
        finally:
            database.dispose()
        where = database.engine.url.render_as_string(hide_password=True)
        if not done.changed:
            err.print(f"{where}: already at schema revision {done.after} (the newest)", highlight=False)
        elif done.adopted:
            err.print(
                f"{where}: made before migrations; adopted and upgraded to revision {done.after}", highlight=False
            )
        else:
            err.print(f"{where}: upgraded from revision {done.before or 'none'} to {done.after}", highlight=False)


def register(app: typer.Typer) -> None:
    db_app.command("upgrade")(upgrade)
