"""the contact visibility copy: who owns each contact, what each workspace lets agents see

The tables of ``crm_platform.visibility.ContactVisibility``, on a shared branch of their own (``visibility``)
that only the services keeping the copy run (those whose metadata declares it; see crm_platform.migrations).

Revision ID: b7d4e1a2c3f6
Revises:
Create Date: 2026-12-01 12:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import crm_platform.db

revision: str = "b7d4e1a2c3f6"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("visibility",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "visibility_contacts",
        sa.Column("workspace_id", sa.String(length=36), nullable=False),
        sa.Column("contact_id", sa.String(length=36), nullable=False),
        sa.Column("owner_id", sa.String(length=100), nullable=True),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("merged_into", sa.String(length=36), nullable=True),
        sa.Column("changed_at", crm_platform.db.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("workspace_id", "contact_id", name=op.f("pk_visibility_contacts")),
    )
    with op.batch_alter_table("visibility_contacts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_visibility_contacts_workspace_id_merged_into", ["workspace_id", "merged_into"], unique=False
        )
        batch_op.create_index(
            "ix_visibility_contacts_workspace_id_owner_id", ["workspace_id", "owner_id"], unique=False
        )
    op.create_table(
        "visibility_workspaces",
        sa.Column("workspace_id", sa.String(length=36), nullable=False),
        sa.Column("agents_see_all", sa.Boolean(), nullable=False),
        sa.Column("changed_at", crm_platform.db.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("workspace_id", name=op.f("pk_visibility_workspaces")),
    )


def downgrade() -> None:
    op.drop_table("visibility_workspaces")
    with op.batch_alter_table("visibility_contacts", schema=None) as batch_op:
        batch_op.drop_index("ix_visibility_contacts_workspace_id_owner_id")
        batch_op.drop_index("ix_visibility_contacts_workspace_id_merged_into")
    op.drop_table("visibility_contacts")
