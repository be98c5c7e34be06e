"""application journey: state history, phone links, partner outbox, partner decisions

Revision ID: 0005_applications
Revises: 0004_onboarding
Create Date: 2026-12-05 14:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0005_applications"
down_revision = "0004_onboarding"
branch_labels = None
depends_on = None

_STR = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.create_table(
        "applicationevent",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("household_id", sa.Integer(), nullable=False),
        sa.Column("kind", _STR(length=20), nullable=False),
        sa.Column("state", _STR(length=12), nullable=False),
        sa.Column("channel", _STR(length=20), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["application_id"], ["application.id"]),
        sa.ForeignKeyConstraint(["household_id"], ["household.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    for column in ("application_id", "household_id", "at"):
        op.create_index(op.f(f"ix_applicationevent_{column}"), "applicationevent", [column])
    op.create_table(
        "phonelink",
        sa.Column("token_hash", _STR(length=64), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("expires_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("used_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["application_id"], ["application.id"]),
        sa.PrimaryKeyConstraint("token_hash"),
    )
    op.create_index(op.f("ix_phonelink_application_id"), "phonelink", ["application_id"])
    op.create_table(
        "outboxmessage",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", _STR(length=40), nullable=False),
        sa.Column("partner", _STR(length=120), nullable=False),
        sa.Column("kind", _STR(length=20), nullable=False),
        sa.Column("idempotency_key", _STR(length=80), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("state", _STR(length=12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("last_error", _STR(length=300), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("delivered_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["application_id"], ["application.id"]),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenant.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("idempotency_key", name="uq_outbox_idempotency_key"),
    )
    for column in ("application_id", "tenant_id", "state", "next_attempt_at"):
        op.create_index(op.f(f"ix_outboxmessage_{column}"), "outboxmessage", [column])
    op.create_table(
        "partnerdecision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("partner", _STR(length=40), nullable=False),
        sa.Column("decision", _STR(length=12), nullable=False),
        sa.Column("reason", _STR(length=40), nullable=False),
        sa.Column("idempotency_key", _STR(length=80), nullable=False),
        sa.Column("outcome", _STR(length=20), nullable=False),
        sa.Column("received_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["application_id"], ["application.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("partner", "idempotency_key", name="uq_decision_partner_key"),
    )
    op.create_index(op.f("ix_partnerdecision_application_id"), "partnerdecision", ["application_id"])


def downgrade() -> None:
    for table in ("partnerdecision", "outboxmessage", "phonelink", "applicationevent"):
        op.drop_table(table)
