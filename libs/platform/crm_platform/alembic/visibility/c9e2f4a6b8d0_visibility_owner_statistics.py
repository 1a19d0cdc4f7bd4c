"""the visibility copy: statistics on (workspace_id, owner_id) for PostgreSQL's planner

An owner belongs to one workspace, so the two columns are not independent: without extended statistics
PostgreSQL multiplies their selectivities, expects a tenth of an agent's contacts and, for an agent who sees only
their own contacts, joins all of them before sorting instead of reading the list's index and probing the copy:
a page of 50 tickets of 1,000,000 went from 368 ms to 20-40 ms (bench/tickets_scale.md). SQLite has no such
statistics; nothing changes there.

Revision ID: c9e2f4a6b8d0
Revises: b7d4e1a2c3f6
Create Date: 2026-12-01 16:25:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "c9e2f4a6b8d0"
down_revision: str | Sequence[str] | None = "b7d4e1a2c3f6"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        "CREATE STATISTICS IF NOT EXISTS st_visibility_contacts_workspace_id_owner_id (dependencies, ndistinct) "
        "ON workspace_id, owner_id FROM visibility_contacts"
    )
    op.execute("ANALYZE visibility_contacts")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP STATISTICS IF EXISTS st_visibility_contacts_workspace_id_owner_id")
