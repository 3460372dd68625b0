"""The schema every store table had before migrations: conversations, messages, feedback, handoffs, user profiles,
webhook deliveries, answer jobs, API keys.

Written out here, not read from the models, so that it stays this revision when the models change. It creates only
what is missing: a database made by `create_all` before migrations (no `alembic_version` table) may lack the tables
its processes had not opened yet, or the `messages.kind` column that such versions added on first use; it is
adopted as this revision with its rows.

Revision ID: 0001
Revises: (none)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _moment(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def schema() -> sa.MetaData:
    """Revision 0001's tables, with their indexes and constraints."""
    metadata = sa.MetaData()
    sa.Table(
        "conversations",
        metadata,
        sa.Column("id", sa.String(200), primary_key=True),
        sa.Column("user_id", sa.String(200), nullable=False),
        sa.Column("channel", sa.String(50), nullable=False),
        _moment("started_at"),
        _moment("updated_at"),
        sa.Column("reset_after", sa.Integer, nullable=False),
        sa.Column("handed_off", sa.Boolean, nullable=False),
        sa.Index("ix_conversations_user_id", "user_id"),
        sa.Index("ix_conversations_updated_at", "updated_at"),
    )
    sa.Table(
        "messages",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "conversation_id", sa.String(200), sa.ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("content", sa.String, nullable=False),
        sa.Column("citations", sa.String, nullable=False),
        _moment("created_at"),
        sa.Column("kind", sa.String(20), nullable=True),
        sa.Index("ix_messages_conversation_id", "conversation_id"),
    )
    sa.Table(
        "feedback",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("message_id", sa.Integer, sa.ForeignKey("messages.id", ondelete="CASCADE"), nullable=False),
        sa.Column("conversation_id", sa.String(200), nullable=False),
        sa.Column("user_id", sa.String(200), nullable=False),
        sa.Column("rating", sa.String(10), nullable=False),
        sa.Column("text", sa.String, nullable=True),
        _moment("created_at"),
        sa.Index("ix_feedback_message_id", "message_id"),
        sa.Index("ix_feedback_conversation_id", "conversation_id"),
    )
    sa.Table(
        "handoffs",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "conversation_id", sa.String(200), sa.ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("user_id", sa.String(200), nullable=False),
        sa.Column("reason", sa.String, nullable=False),
        _moment("requested_at"),
        _moment("released_at", nullable=True),
        sa.Index("ix_handoffs_conversation_id", "conversation_id"),
    )
    sa.Table(
        "user_profiles",
        metadata,
        sa.Column("user_id", sa.String(200), primary_key=True),
        sa.Column("name", sa.String, nullable=True),
        sa.Column("plan", sa.String, nullable=True),
        sa.Column("language", sa.String, nullable=True),
        _moment("updated_at"),
    )
    sa.Table(
        "deliveries",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("source", sa.String, nullable=False),
        sa.Column("delivery_id", sa.String, nullable=False),
        _moment("received_at"),
        sa.UniqueConstraint("source", "delivery_id", name="uq_deliveries_source_id"),
        sa.Index("ix_deliveries_received_at", "received_at"),
    )
    sa.Table(
        "answer_jobs",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("source", sa.String(50), nullable=False),
        sa.Column("delivery_id", sa.String(200), nullable=False),
        sa.Column("payload", sa.String, nullable=False),
        sa.Column("state", sa.String(10), nullable=False),
        _moment("taken_at", nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False),
        _moment("created_at"),
        sa.Index("ix_answer_jobs_state", "state"),
    )
    sa.Table(
        "api_keys",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String, nullable=False),
        sa.Column("key_hash", sa.String, nullable=False),
        sa.Column("hint", sa.String, nullable=False),
        _moment("created_at"),
        _moment("revoked_at", nullable=True),
        sa.Index("ix_api_keys_name", "name", unique=True),
        sa.Index("ix_api_keys_key_hash", "key_hash", unique=True),
    )
    return metadata


def upgrade() -> None:
    connection = op.get_bind()
    inspector = sa.inspect(connection)
    present = set(inspector.get_table_names())
    metadata = schema()
    metadata.create_all(connection, tables=[table for table in metadata.sorted_tables if table.name not in present])
    for table in metadata.sorted_tables:
        if table.name not in present:
            continue
        # A table made before one of its columns existed: such columns were nullable and added on first use.
        columns = {column["name"] for column in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name not in columns:
                assert column.nullable, f"{table.name}.{column.name} cannot be missing from an earlier database"
                op.add_column(table.name, sa.Column(column.name, column.type, nullable=True))


def downgrade() -> None:
    for table in reversed(schema().sorted_tables):
        op.drop_table(table.name)
