"""complaint tickets and appliance changes (issue 17)

Revision ID: 0006_everyday
Revises: 0005_applications
Create Date: 2026-12-05 15:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0006_everyday"
down_revision = "0005_applications"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "complaintticket",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("household_id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("category", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("concerns", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
        sa.Column("offer_id", sa.Integer(), nullable=True),
        sa.Column("application_id", sa.Integer(), nullable=True),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenant.id"]),
        sa.ForeignKeyConstraint(["household_id"], ["household.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("complaintticket", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_complaintticket_tenant_id"), ["tenant_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_complaintticket_household_id"), ["household_id"], unique=False)
    op.create_table(
        "devicechange",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("household_id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("changed_on", sa.Date(), nullable=False),
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.ForeignKeyConstraint(["household_id"], ["household.id"]),
        sa.ForeignKeyConstraint(["device_id"], ["device.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("devicechange", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_devicechange_household_id"), ["household_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_devicechange_device_id"), ["device_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("devicechange", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_devicechange_device_id"))
        batch_op.drop_index(batch_op.f("ix_devicechange_household_id"))
    op.drop_table("devicechange")
    with op.batch_alter_table("complaintticket", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_complaintticket_household_id"))
        batch_op.drop_index(batch_op.f("ix_complaintticket_tenant_id"))
    op.drop_table("complaintticket")
