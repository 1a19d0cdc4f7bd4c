"""the views' counters, a member's read markers indexed, trigram indexes for the contact search

Revision ID: a8abe64d37de
Revises: bfb215ee9699
Create Date: 2026-12-01 22:30:00

The views' counts (`conversation_view_counts`: live conversations per workspace, status and assignee, and how
many have no message yet) start from the conversations already there; `ix_conversation_reads_workspace_id_
member_id_conversation_id` lets the lists and counts join one member's read markers without reading
everyone's. On PostgreSQL, trigram (pg_trgm) indexes serve the search's name-prefix (of any word of the name)
and phone-suffix patterns, which no b-tree can; where the extension cannot be created (a managed database
without it) the search still works, without them.
"""

import logging
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a8abe64d37de"
down_revision: str | Sequence[str] | None = "bfb215ee9699"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger(__name__)

TRIGRAM_INDEXES = {
    "ix_conversations_contact_name_key_trgm": "contact_name_key",
    "ix_conversations_contact_phone_trgm": "contact_phone",
}


def upgrade() -> None:
    op.create_table(
        "conversation_view_counts",
        sa.Column("workspace_id", sa.String(length=36), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("assignee_id", sa.String(length=100), nullable=False),
        sa.Column("conversations", sa.BigInteger(), nullable=False),
        sa.Column("empty", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("workspace_id", "status", "assignee_id", name=op.f("pk_conversation_view_counts")),
    )
    op.execute(
        "INSERT INTO conversation_view_counts (workspace_id, status, assignee_id, conversations, empty) "
        "SELECT workspace_id, status, COALESCE(assignee_id, ''), COUNT(*), "
        "SUM(CASE WHEN message_count = 0 THEN 1 ELSE 0 END) FROM conversations WHERE deleted_at IS NULL "
        "GROUP BY workspace_id, status, COALESCE(assignee_id, '')"
    )
    with op.batch_alter_table("conversation_reads", schema=None) as batch_op:
        batch_op.create_index(
            "ix_conversation_reads_workspace_id_member_id_conversation_id",
            ["workspace_id", "member_id", "conversation_id"],
            unique=False,
        )

    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    try:
        with bind.begin_nested():  # a savepoint: a refused CREATE EXTENSION must not abort the migration
            bind.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
    except sa.exc.DBAPIError as exc:
        log.warning("pg_trgm is not available (%s); the contact search runs without its trigram indexes", exc.orig)
        return
    for name, column in TRIGRAM_INDEXES.items():
        op.execute(f"CREATE INDEX IF NOT EXISTS {name} ON conversations USING gin ({column} gin_trgm_ops)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name in TRIGRAM_INDEXES:
            op.execute(f"DROP INDEX IF EXISTS {name}")
    with op.batch_alter_table("conversation_reads", schema=None) as batch_op:
        batch_op.drop_index("ix_conversation_reads_workspace_id_member_id_conversation_id")
    op.drop_table("conversation_view_counts")
