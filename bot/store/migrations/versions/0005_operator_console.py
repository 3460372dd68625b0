"""The operator console: operator keys and their login sessions (`adapters.http.operator_keys`,
`adapters.http.admin_sessions`), the operator who wrote a reply of kind "human" (`messages.operator`), and the
curated answers operators write (`bot.store.curated_answers`). Rows stored before get NULL for `messages.operator`.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("messages", sa.Column("operator", sa.String(64), nullable=True))
    op.create_table(
        "operator_keys",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("hint", sa.String(20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_operator_keys_name", "operator_keys", ["name"], unique=True)
    op.create_index("ix_operator_keys_key_hash", "operator_keys", ["key_hash"], unique=True)
    op.create_table(
        "operator_sessions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("operator", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_operator_sessions_token_hash", "operator_sessions", ["token_hash"], unique=True)
    op.create_table(
        "curated_answers",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("question", sa.String, nullable=False),
        sa.Column("answer", sa.String, nullable=False),
        sa.Column("operator", sa.String(64), nullable=False),
        sa.Column("conversation_id", sa.String(200), nullable=True),
        sa.Column("message_id", sa.Integer, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("curated_answers")
    op.drop_index("ix_operator_sessions_token_hash", "operator_sessions")
    op.drop_table("operator_sessions")
    op.drop_index("ix_operator_keys_key_hash", "operator_keys")
    op.drop_index("ix_operator_keys_name", "operator_keys")
    op.drop_table("operator_keys")
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("operator")
