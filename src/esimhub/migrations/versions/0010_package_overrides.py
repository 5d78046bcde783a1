"""package_overrides: a partner's own price and net price for a package, or the package hidden

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 19:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    big_id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    op.create_table(
        "package_overrides",
        sa.Column("id", big_id, autoincrement=True, nullable=False),
        sa.Column("partner_id", big_id, nullable=False),
        sa.Column("package_id", sa.String(length=100), nullable=False),
        sa.Column("price_cents", sa.BigInteger(), nullable=True),
        sa.Column("net_price_cents", sa.BigInteger(), nullable=True),
        sa.Column("hidden", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["partner_id"],
            ["partners.id"],
            name=op.f("fk_package_overrides_partner_id_partners"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_package_overrides")),
        sa.UniqueConstraint(
            "partner_id", "package_id", name=op.f("uq_package_overrides_partner_id")
        ),
    )


def downgrade() -> None:
    op.drop_table("package_overrides")
