"""usage: network state, package consumption, usage records, the shared clock, the outbox

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 22:35:56.536563
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
        "clock_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("offset_ms", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clock_state")),
    )
    op.create_table(
        "outbox_events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("event_id", sa.String(length=32), nullable=False),
        sa.Column(
            "partner_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("dedupe_key", sa.String(length=200), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partners.id"], name=op.f("fk_outbox_events_partner_id_partners")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_events")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_outbox_events_dedupe_key")),
        sa.UniqueConstraint("event_id", name=op.f("uq_outbox_events_event_id")),
    )
    with op.batch_alter_table("outbox_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outbox_events_due_at"), ["due_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_outbox_events_partner_id"), ["partner_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_outbox_events_status"), ["status"], unique=False)

    op.create_table(
        "usage_records",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("record_id", sa.String(length=100), nullable=False),
        sa.Column("sim_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("sim_package_id", sa.BigInteger(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("bytes", sa.BigInteger(), nullable=False),
        sa.Column("voice_seconds", sa.BigInteger(), nullable=False),
        sa.Column("sms", sa.Integer(), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["sim_id"], ["sims.id"], name=op.f("fk_usage_records_sim_id_sims")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_usage_records")),
        sa.UniqueConstraint("record_id", name=op.f("uq_usage_records_record_id")),
    )
    with op.batch_alter_table("usage_records", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_usage_records_sim_id"), ["sim_id"], unique=False)

    with op.batch_alter_table("sim_packages", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("used_bytes", sa.BigInteger(), server_default="0", nullable=False)
        )
        batch_op.add_column(
            sa.Column("used_voice_seconds", sa.BigInteger(), server_default="0", nullable=False)
        )
        batch_op.add_column(sa.Column("used_sms", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("alerts", sa.JSON(), server_default="[]", nullable=False))

    with op.batch_alter_table("sims", schema=None) as batch_op:
        batch_op.add_column(sa.Column("installed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("attached_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("last_country", sa.String(length=2), nullable=True))
        batch_op.add_column(
            sa.Column(
                "activation_policy",
                sa.String(length=32),
                server_default="first-usage",
                nullable=False,
            )
        )
        batch_op.add_column(sa.Column("install_window_days", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("topup_grace_window_days", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("due_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("state_version", sa.BigInteger(), server_default="0", nullable=False)
        )
        batch_op.create_index(batch_op.f("ix_sims_due_at"), ["due_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("sims", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sims_due_at"))
        batch_op.drop_column("state_version")
        batch_op.drop_column("due_at")
        batch_op.drop_column("topup_grace_window_days")
        batch_op.drop_column("install_window_days")
        batch_op.drop_column("activation_policy")
        batch_op.drop_column("last_country")
        batch_op.drop_column("attached_at")
        batch_op.drop_column("installed_at")

    with op.batch_alter_table("sim_packages", schema=None) as batch_op:
        batch_op.drop_column("alerts")
        batch_op.drop_column("used_sms")
        batch_op.drop_column("used_voice_seconds")
        batch_op.drop_column("used_bytes")

    with op.batch_alter_table("usage_records", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_usage_records_sim_id"))

    op.drop_table("usage_records")
    with op.batch_alter_table("outbox_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_events_status"))
        batch_op.drop_index(batch_op.f("ix_outbox_events_partner_id"))
        batch_op.drop_index(batch_op.f("ix_outbox_events_due_at"))

    op.drop_table("outbox_events")
    op.drop_table("clock_state")
