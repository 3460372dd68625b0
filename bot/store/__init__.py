"""Deskbot's database: conversations, feedback, handoffs, API keys, webhook deliveries (SQLite or Postgres)."""

from bot.store.database import Database, StoreTable, database_url

__all__ = ["Database", "StoreTable", "database_url"]
