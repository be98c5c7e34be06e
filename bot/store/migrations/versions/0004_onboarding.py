"""onboarding: pairing codes, wrong-code counters, removed households, hub broker secrets, token expiry

Revision ID: 0004_onboarding
Revises: 0003_tenant_config
Create Date: 2026-12-05 14:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0004_onboarding"
down_revision = "0003_tenant_config"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pairingcode",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("salt", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("code_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["device_id"], ["device.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("pairingcode", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pairingcode_device_id"), ["device_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_pairingcode_expires_at"), ["expires_at"], unique=False)
    op.create_table(
        "pairingfailure",
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_start", sa.DateTime(), nullable=False),
        sa.Column("locked_until", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_table(
        "removedhousehold",
        sa.Column("household_id", sa.Integer(), nullable=False),
        sa.Column("removed_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["household_id"], ["household.id"]),
        sa.PrimaryKeyConstraint("household_id"),
    )
    op.create_table(
        "hubsecret",
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("broker_hash", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.ForeignKeyConstraint(["device_id"], ["device.id"]),
        sa.PrimaryKeyConstraint("device_id"),
    )
    with op.batch_alter_table("apitoken", schema=None) as batch_op:
        batch_op.add_column(sa.Column("expires_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("apitoken", schema=None) as batch_op:
        batch_op.drop_column("expires_at")
    op.drop_table("hubsecret")
    op.drop_table("removedhousehold")
    op.drop_table("pairingfailure")
    with op.batch_alter_table("pairingcode", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pairingcode_expires_at"))
        batch_op.drop_index(batch_op.f("ix_pairingcode_device_id"))
    op.drop_table("pairingcode")
