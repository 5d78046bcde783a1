"""share pages: wrong access codes counted per eSIM and client address

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 02:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "share_attempts",
        sa.Column("sim_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("client", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["sim_id"],
            ["sims.id"],
            name=op.f("fk_share_attempts_sim_id_sims"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("sim_id", "client", name=op.f("pk_share_attempts")),
    )


def downgrade() -> None:
    op.drop_table("share_attempts")
