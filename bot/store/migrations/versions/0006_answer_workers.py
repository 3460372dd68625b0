"""Answer workers' heartbeats (`adapters.http.worker_heartbeats`): one row per answer process of `deskbot worker`,
its state and when it last said so, which `/readyz` of an HTTP-only `deskbot serve` reads.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "answer_workers",
        sa.Column("worker_id", sa.String(200), primary_key=True),
        sa.Column("host", sa.String(200), nullable=False),
        sa.Column("pid", sa.Integer, nullable=False),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("beat_at", sa.Float, nullable=False),
        sa.Column("started_at", sa.Float, nullable=False),
    )
    op.create_index("ix_answer_workers_host", "answer_workers", ["host"])


def downgrade() -> None:
    op.drop_index("ix_answer_workers_host", "answer_workers")
    op.drop_table("answer_workers")
