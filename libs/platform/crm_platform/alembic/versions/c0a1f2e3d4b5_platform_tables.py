"""the platform's own tables: outbox, processed events, idempotency keys

Every service's database holds them; they are declared once in ``crm_platform.db.new_metadata`` and created
once here, on a branch of their own (``platform``) that every service's migrations run beside their own.
Databases made before this branch existed got the same tables from the service's first revision: each
table is created only where it is missing, so upgrading them changes nothing.

Revision ID: c0a1f2e3d4b5
Revises:
Create Date: 2026-12-01 09:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import crm_platform.db

revision: str = "c0a1f2e3d4b5"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("platform",)
depends_on: str | Sequence[str] | None = None

UNPUBLISHED = sa.text("published_at IS NULL")


def _missing() -> set[str]:
    present = set(sa.inspect(op.get_bind()).get_table_names())
    return {"idempotency_keys", "outbox", "processed_events"} - present


def upgrade() -> None:
    missing = _missing()
    if "idempotency_keys" in missing:
        op.create_table(
            "idempotency_keys",
            sa.Column("workspace_id", sa.String(length=36), nullable=False),
            sa.Column("key", sa.String(length=200), nullable=False),
            sa.Column("request_hash", sa.String(length=64), nullable=False),
            sa.Column("status", sa.Integer(), nullable=False),
            sa.Column("body", sa.Text(), nullable=False),
            sa.Column("location", sa.String(length=500), nullable=True),
            sa.Column("created_at", crm_platform.db.UtcDateTime(timezone=True), nullable=False),
            sa.PrimaryKeyConstraint("workspace_id", "key", name=op.f("pk_idempotency_keys")),
        )
    if "outbox" in missing:
        op.create_table(
            "outbox",
            sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
            sa.Column("event_id", sa.String(length=36), nullable=False),
            sa.Column("event_type", sa.String(length=120), nullable=False),
            sa.Column("workspace_id", sa.String(length=36), nullable=False),
            sa.Column("body", sa.LargeBinary(), nullable=False),
            sa.Column("created_at", crm_platform.db.UtcDateTime(timezone=True), nullable=False),
            sa.Column("published_at", crm_platform.db.UtcDateTime(timezone=True), nullable=True),
            sa.Column("unroutable", sa.Boolean(), nullable=False),
            sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
            sa.UniqueConstraint("event_id", name=op.f("uq_outbox_event_id")),
        )
        with op.batch_alter_table("outbox", schema=None) as batch_op:
            batch_op.create_index(
                "ix_outbox_unpublished", ["id"], unique=False, postgresql_where=UNPUBLISHED, sqlite_where=UNPUBLISHED
            )
    if "processed_events" in missing:
        op.create_table(
            "processed_events",
            sa.Column("consumer", sa.String(length=60), nullable=False),
            sa.Column("event_id", sa.String(length=36), nullable=False),
            sa.Column("workspace_id", sa.String(length=36), nullable=False),
            sa.Column("event_type", sa.String(length=120), nullable=False),
            sa.Column("processed_at", crm_platform.db.UtcDateTime(timezone=True), nullable=False),
            sa.PrimaryKeyConstraint("consumer", "event_id", name=op.f("pk_processed_events")),
        )


def downgrade() -> None:
    op.drop_table("processed_events")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_unpublished", postgresql_where=UNPUBLISHED, sqlite_where=UNPUBLISHED)
    op.drop_table("outbox")
    op.drop_table("idempotency_keys")
