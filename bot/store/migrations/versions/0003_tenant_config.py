"""tenant configuration stored on the tenant row

Revision ID: 0003_tenant_config
Revises: 0002_analytics
Create Date: 2026-11-26 18:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0003_tenant_config"
down_revision = "0002_analytics"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tenant", schema=None) as batch_op:
        batch_op.add_column(sa.Column("config", sqlmodel.sql.sqltypes.AutoString(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("tenant", schema=None) as batch_op:
        batch_op.drop_column("config")
