"""Each bot reply's best retrieval score and latency on its `messages` row (the operator console filters and sorts
on them); its kind was there already. Rows stored before get NULL.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("messages", sa.Column("retrieval_score", sa.Float, nullable=True))
    op.add_column("messages", sa.Column("latency_ms", sa.Float, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("latency_ms")
        batch.drop_column("retrieval_score")
