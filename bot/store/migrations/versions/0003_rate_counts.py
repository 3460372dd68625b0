"""Request counts of the rate limits kept in the database (`bot.store.rate_limits`): one row per scope, key and fixed
window, so that every instance on the store counts into the same one.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rate_counts",
        sa.Column("scope", sa.String(20), nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("window_index", sa.BigInteger, nullable=False),
        sa.Column("count", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("scope", "key", "window_index"),
    )


def downgrade() -> None:
    op.drop_table("rate_counts")
