"""facts: primary key (workspace_id, subject_id, event_id), the index by subject dropped: one index insert a fact

Revision ID: 4f0c2a9e7b31
Revises: c1277e241fba
Create Date: 2026-12-02 01:40:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "4f0c2a9e7b31"
down_revision: str | Sequence[str] | None = "c1277e241fba"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # An event is of one workspace: (workspace, subject, event) is unique where (event, subject) was.
    with op.batch_alter_table("facts", schema=None) as batch_op:
        batch_op.drop_index("ix_facts_workspace_id_subject_id_occurred_at")
        batch_op.drop_constraint("pk_facts", type_="primary")
        batch_op.create_primary_key("pk_facts", ["workspace_id", "subject_id", "event_id"])


def downgrade() -> None:
    with op.batch_alter_table("facts", schema=None) as batch_op:
        batch_op.drop_constraint("pk_facts", type_="primary")
        batch_op.create_primary_key("pk_facts", ["event_id", "subject_id"])
        batch_op.create_index(
            "ix_facts_workspace_id_subject_id_occurred_at", ["workspace_id", "subject_id", "occurred_at"], unique=False
        )
