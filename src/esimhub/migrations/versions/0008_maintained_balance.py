"""partners: the balance maintained beside the ledger (the sum of its entries, backfilled)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 05:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("partners") as batch_op:
        batch_op.add_column(
            sa.Column("balance_cents", sa.BigInteger(), server_default="0", nullable=False)
        )
    op.execute(
        "UPDATE partners SET balance_cents = (SELECT COALESCE(SUM(amount_cents), 0)"
        " FROM ledger_entries WHERE ledger_entries.partner_id = partners.id)"
    )


def downgrade() -> None:
    with op.batch_alter_table("partners") as batch_op:
        batch_op.drop_column("balance_cents")
