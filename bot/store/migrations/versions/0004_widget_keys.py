"""Widget keys (`adapters.http.widget_keys`): the public keys of the embeddable chat widget, and the per-day counts
of the messages each key and each of its browser sessions sent.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "widget_keys",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("key", sa.String(100), nullable=False),
        sa.Column("session_secret", sa.String(100), nullable=False),
        sa.Column("origins", sa.String, nullable=False),
        sa.Column("per_session", sa.Integer, nullable=False),
        sa.Column("per_day", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_widget_keys_name", "widget_keys", ["name"], unique=True)
    op.create_index("ix_widget_keys_key", "widget_keys", ["key"], unique=True)
    op.create_table(
        "widget_usage",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("key_name", sa.String(64), nullable=False),
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("bucket", sa.String(64), nullable=False),
        sa.Column("used", sa.Integer, nullable=False),
        sa.UniqueConstraint("key_name", "day", "bucket", name="uq_widget_usage_bucket"),
    )


def downgrade() -> None:
    op.drop_table("widget_usage")
    op.drop_index("ix_widget_keys_key", "widget_keys")
    op.drop_index("ix_widget_keys_name", "widget_keys")
    op.drop_table("widget_keys")
