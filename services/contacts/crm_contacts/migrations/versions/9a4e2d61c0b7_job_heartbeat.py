"""job heartbeat: a running job whose worker died is failed instead of staying "running" forever

Revision ID: 9a4e2d61c0b7
Revises: 7c1f0e2a9b3d
Create Date: 2026-11-23 08:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import crm_platform.db

revision: str = "9a4e2d61c0b7"
down_revision: str | Sequence[str] | None = "7c1f0e2a9b3d"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("heartbeat_at", crm_platform.db.UtcDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_column("heartbeat_at")
