"""ticket lists, views-bar counters, the contact's deletion on the snapshot

Revision ID: e5c3a9d1f7b2
Revises: e4c1a9d07b52
Create Date: 2026-12-01 16:10:00

One index per list filter, each ending with the default order (created_at, id), so that a filtered page is a
range of one index read backwards and stopped after limit + 1 rows; the tag index carries the ticket id. The
views bar's counters (`ticket_view_counts`) start from the tickets already there. Where the pg_trgm extension
cannot be created (a managed database without it), text search in subjects still works, without its index.
"""

import logging
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import crm_platform.db

revision: str = "e5c3a9d1f7b2"
down_revision: str | Sequence[str] | None = "e4c1a9d07b52"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger(__name__)

INDEXES = {
    "ix_tickets_workspace_id_contact_id_created_at": ["workspace_id", "contact_id", "created_at", "id"],
    "ix_tickets_workspace_id_created_at": ["workspace_id", "created_at", "id"],
    "ix_tickets_workspace_id_updated_at": ["workspace_id", "updated_at", "id"],
    "ix_tickets_workspace_id_status_created_at": ["workspace_id", "status", "created_at", "id"],
    "ix_tickets_workspace_id_responsible_id_created_at": ["workspace_id", "responsible_id", "created_at", "id"],
    "ix_tickets_workspace_id_priority_created_at": ["workspace_id", "priority", "created_at", "id"],
}


def upgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("contact_deleted_at", crm_platform.db.UtcDateTime(timezone=True), nullable=True))
        batch_op.drop_index("ix_tickets_workspace_id_contact_id")
        for name, columns in INDEXES.items():
            batch_op.create_index(name, columns, unique=False)
    with op.batch_alter_table("ticket_tags", schema=None) as batch_op:
        batch_op.drop_index("ix_ticket_tags_workspace_id_tag")
        batch_op.create_index("ix_ticket_tags_workspace_id_tag", ["workspace_id", "tag", "ticket_id"], unique=False)

    op.create_table(
        "ticket_view_counts",
        sa.Column("workspace_id", sa.String(length=36), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("responsible_id", sa.String(length=100), nullable=False),
        sa.Column("tickets", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("workspace_id", "status", "responsible_id", name=op.f("pk_ticket_view_counts")),
    )
    op.execute(
        "INSERT INTO ticket_view_counts (workspace_id, status, responsible_id, tickets) "
        "SELECT workspace_id, status, COALESCE(responsible_id, ''), COUNT(*) FROM tickets "
        "GROUP BY workspace_id, status, COALESCE(responsible_id, '')"
    )

    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    try:
        with bind.begin_nested():  # a savepoint: a refused CREATE EXTENSION must not abort the migration
            bind.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
    except sa.exc.DBAPIError as exc:
        log.warning("pg_trgm is not available (%s); subject search runs without its trigram index", exc.orig)
        return
    op.execute("CREATE INDEX IF NOT EXISTS ix_tickets_subject_trgm ON tickets USING gin (subject gin_trgm_ops)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_tickets_subject_trgm")
    op.drop_table("ticket_view_counts")
    with op.batch_alter_table("ticket_tags", schema=None) as batch_op:
        batch_op.drop_index("ix_ticket_tags_workspace_id_tag")
        batch_op.create_index("ix_ticket_tags_workspace_id_tag", ["workspace_id", "tag"], unique=False)
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        for name in INDEXES:
            batch_op.drop_index(name)
        batch_op.create_index("ix_tickets_workspace_id_contact_id", ["workspace_id", "contact_id"], unique=False)
        batch_op.drop_column("contact_deleted_at")
