"""the attachment store: each file's metadata, and its bytes in chunks when kept in the database

The tables of ``crm_platform.attachments.store.AttachmentTables``, on a shared branch of their own
(``attachments``) that only the services keeping files run (those whose metadata declares them).

Revision ID: e5a7c3d9b1f2
Revises:
Create Date: 2026-12-01 15:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import crm_platform.db

revision: str = "e5a7c3d9b1f2"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("attachments",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "attachments",
        sa.Column("workspace_id", sa.String(length=36), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("owner_id", sa.String(length=64), nullable=True),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=255), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("location", sa.String(length=10), nullable=False),
        sa.Column("created_at", crm_platform.db.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("workspace_id", "id", name=op.f("pk_attachments")),
    )
    with op.batch_alter_table("attachments", schema=None) as batch_op:
        batch_op.create_index("ix_attachments_workspace_id_owner_id", ["workspace_id", "owner_id"], unique=False)
    op.create_table(
        "attachment_chunks",
        sa.Column("workspace_id", sa.String(length=36), nullable=False),
        sa.Column("attachment_id", sa.String(length=36), nullable=False),
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("workspace_id", "attachment_id", "seq", name=op.f("pk_attachment_chunks")),
    )


def downgrade() -> None:
    op.drop_table("attachment_chunks")
    with op.batch_alter_table("attachments", schema=None) as batch_op:
        batch_op.drop_index("ix_attachments_workspace_id_owner_id")
    op.drop_table("attachments")
