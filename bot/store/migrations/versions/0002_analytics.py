"""analytics events from the Rasa event broker

Revision ID: 0002_analytics
Revises: 510f465cfc6b
Create Date: 2026-11-26 17:50:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0002_analytics"
down_revision = "510f465cfc6b"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "analyticsevent",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("event", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("conversation_id", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("intent", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=True),
        sa.Column("confidence", sa.Float(), nullable=True),
        sa.Column("action", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=True),
        sa.Column("card_type", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column("offer_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column("occurred_at", sa.DateTime(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("event_key"),
    )
    with op.batch_alter_table("analyticsevent", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_analyticsevent_conversation_id"), ["conversation_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_analyticsevent_occurred_at"), ["occurred_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("analyticsevent", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_analyticsevent_occurred_at"))
        batch_op.drop_index(batch_op.f("ix_analyticsevent_conversation_id"))

    op.drop_table("analyticsevent")
