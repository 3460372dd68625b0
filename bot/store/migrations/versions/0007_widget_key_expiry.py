"""Widget keys can expire (`adapters.http.widget_keys`): `widget_keys.expires_at`, null for a key that does not.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("widget_keys", sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("widget_keys") as table:
        table.drop_column("expires_at")
