"""outbox: attempts counted when they start; a replay's fresh set of attempts

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 02:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox_events") as batch_op:
        batch_op.add_column(
            sa.Column("attempt_base", sa.Integer(), server_default="0", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("outbox_events") as batch_op:
        batch_op.drop_column("attempt_base")
