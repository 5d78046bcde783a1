"""mail: retried with backoff, leased to one worker at a time

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 02:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("mail_messages") as batch_op:
        batch_op.add_column(sa.Column("attempts", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("due_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("leased_until", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f("ix_mail_messages_due_at"), ["due_at"], unique=False)
    op.execute("UPDATE mail_messages SET due_at = created_at")
    # messages claimed by the old sender and never finished go back in the queue
    op.execute("UPDATE mail_messages SET status = 'queued' WHERE status = 'sending'")


def downgrade() -> None:
    with op.batch_alter_table("mail_messages") as batch_op:
        batch_op.drop_index(batch_op.f("ix_mail_messages_due_at"))
        batch_op.drop_column("leased_until")
        batch_op.drop_column("due_at")
        batch_op.drop_column("attempts")
