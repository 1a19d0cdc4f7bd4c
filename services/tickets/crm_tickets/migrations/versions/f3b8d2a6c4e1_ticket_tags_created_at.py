"""the tickets' creation time on their tags, for a tag's page in the default order

Revision ID: f3b8d2a6c4e1
Revises: e5c3a9d1f7b2
Create Date: 2026-12-01 22:40:00

`ticket_tags.created_at` copies the ticket's (which never changes), and the tag index becomes
(workspace_id, tag, created_at, ticket_id): a page of a tag, newest first, is a range of that index stopped after
limit + 1 rows, then the tickets by primary key, instead of a read of every ticket with the tag before the order.
The column is filled from the tickets here; it stays nullable in the database for one release (the previous
release inserts tags without it during a rolling upgrade: a later revision fills those and makes it NOT NULL).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import crm_platform.db

revision: str = "f3b8d2a6c4e1"
down_revision: str | Sequence[str] | None = "e5c3a9d1f7b2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("ticket_tags", schema=None) as batch_op:
        batch_op.add_column(sa.Column("created_at", crm_platform.db.UtcDateTime(timezone=True), nullable=True))
    op.execute(
        "UPDATE ticket_tags SET created_at = (SELECT tickets.created_at FROM tickets WHERE tickets.id = "
        "ticket_tags.ticket_id) WHERE created_at IS NULL"
    )
    with op.batch_alter_table("ticket_tags", schema=None) as batch_op:
        batch_op.drop_index("ix_ticket_tags_workspace_id_tag")
        batch_op.create_index(
            "ix_ticket_tags_workspace_id_tag_created_at", ["workspace_id", "tag", "created_at", "ticket_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("ticket_tags", schema=None) as batch_op:
        batch_op.drop_index("ix_ticket_tags_workspace_id_tag_created_at")
        batch_op.create_index("ix_ticket_tags_workspace_id_tag", ["workspace_id", "tag", "ticket_id"], unique=False)
        batch_op.drop_column("created_at")
