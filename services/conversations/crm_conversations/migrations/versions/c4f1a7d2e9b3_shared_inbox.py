"""shared inbox: assignee, status, timestamps, version and the contact's search copy on conversations; message
direction, rich text, signature and delivery; assignment history, read markers, message templates

Revision ID: c4f1a7d2e9b3
Revises: e9854e484f5b
Create Date: 2026-12-01 15:40:00
"""

from typing import Sequence, Union

import sqlalchemy as sa

import crm_platform.db
from alembic import op

revision: str = "c4f1a7d2e9b3"
down_revision: Union[str, Sequence[str], None] = "e9854e484f5b"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

UTC = crm_platform.db.UtcDateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("contact_name", sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column("contact_name_key", sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column("contact_email", sa.String(length=320), nullable=True))
        batch_op.add_column(sa.Column("contact_phone", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("assignee_id", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("started_by", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("version", sa.Integer(), server_default="1", nullable=False))
        batch_op.add_column(sa.Column("updated_at", UTC, nullable=True))
        batch_op.add_column(sa.Column("last_activity_at", UTC, nullable=True))
        batch_op.add_column(sa.Column("last_message_at", UTC, nullable=True))
        batch_op.add_column(sa.Column("first_response_at", UTC, nullable=True))
        batch_op.add_column(sa.Column("archived_at", UTC, nullable=True))
        batch_op.add_column(sa.Column("deleted_at", UTC, nullable=True))
        batch_op.add_column(sa.Column("deleted_by", sa.String(length=100), nullable=True))
    # Conversations of the skeleton: their activity is their creation (their messages' time is not worth a
    # scan of every message on upgrade; a new message moves it).
    op.execute("UPDATE conversations SET last_activity_at = created_at, updated_at = created_at")
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.create_index(
            "ix_conversations_workspace_id_status_activity", ["workspace_id", "status", "last_activity_at", "id"]
        )
        batch_op.create_index(
            "ix_conversations_workspace_id_assignee_status_activity",
            ["workspace_id", "assignee_id", "status", "last_activity_at", "id"],
        )
        batch_op.create_index("ix_conversations_workspace_id_contact_name_key", ["workspace_id", "contact_name_key"])
        batch_op.create_index("ix_conversations_workspace_id_contact_email", ["workspace_id", "contact_email"])
        batch_op.create_index("ix_conversations_workspace_id_contact_phone", ["workspace_id", "contact_phone"])

    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("text", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("signature", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("direction", sa.String(length=10), server_default="outbound", nullable=False))
        batch_op.add_column(sa.Column("author_type", sa.String(length=10), server_default="member", nullable=False))
        batch_op.add_column(sa.Column("channel", sa.String(length=20), server_default="email", nullable=False))
        batch_op.add_column(sa.Column("delivery_status", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("delivery_detail", sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column("rfc822_message_id", sa.String(length=998), nullable=True))
        batch_op.add_column(sa.Column("inbound_id", sa.String(length=36), nullable=True))
        batch_op.create_index("ix_messages_workspace_id_rfc822_message_id", ["workspace_id", "rfc822_message_id"])
        batch_op.create_index("ix_messages_delivery_status_created_at", ["delivery_status", "created_at"])
        batch_op.create_unique_constraint("uq_messages_workspace_id_inbound_id", ["workspace_id", "inbound_id"])
    # The skeleton's messages were plain text a member wrote and nothing sent: their text is their body.
    op.execute("UPDATE messages SET text = body")

    op.create_table(
        "conversation_assignments",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("workspace_id", sa.String(length=36), nullable=False),
        sa.Column("conversation_id", sa.String(length=36), nullable=False),
        sa.Column("from_assignee_id", sa.String(length=100), nullable=True),
        sa.Column("to_assignee_id", sa.String(length=100), nullable=True),
        sa.Column("actor_id", sa.String(length=100), nullable=False),
        sa.Column("assigned_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversation_assignments")),
    )
    op.create_index(
        "ix_conversation_assignments_workspace_id_conversation_id",
        "conversation_assignments",
        ["workspace_id", "conversation_id"],
    )
    op.create_table(
        "conversation_reads",
        sa.Column("workspace_id", sa.String(length=36), nullable=False),
        sa.Column("conversation_id", sa.String(length=36), nullable=False),
        sa.Column("member_id", sa.String(length=100), nullable=False),
        sa.Column("read_count", sa.Integer(), nullable=False),
        sa.Column("read_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("workspace_id", "conversation_id", "member_id", name=op.f("pk_conversation_reads")),
    )
    op.create_table(
        "message_templates",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("workspace_id", sa.String(length=36), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_message_templates")),
    )
    op.create_index("ix_message_templates_workspace_id_title", "message_templates", ["workspace_id", "title"])


def downgrade() -> None:
    op.drop_index("ix_message_templates_workspace_id_title", table_name="message_templates")
    op.drop_table("message_templates")
    op.drop_table("conversation_reads")
    op.drop_index("ix_conversation_assignments_workspace_id_conversation_id", table_name="conversation_assignments")
    op.drop_table("conversation_assignments")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_constraint("uq_messages_workspace_id_inbound_id", type_="unique")
        batch_op.drop_index("ix_messages_delivery_status_created_at")
        batch_op.drop_index("ix_messages_workspace_id_rfc822_message_id")
        for column in (
            "inbound_id",
            "rfc822_message_id",
            "delivery_detail",
            "delivery_status",
            "channel",
            "author_type",
            "direction",
            "signature",
            "text",
        ):
            batch_op.drop_column(column)
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        for index in (
            "ix_conversations_workspace_id_contact_phone",
            "ix_conversations_workspace_id_contact_email",
            "ix_conversations_workspace_id_contact_name_key",
            "ix_conversations_workspace_id_assignee_status_activity",
            "ix_conversations_workspace_id_status_activity",
        ):
            batch_op.drop_index(index)
        for column in (
            "deleted_by",
            "deleted_at",
            "archived_at",
            "first_response_at",
            "last_message_at",
            "last_activity_at",
            "updated_at",
            "version",
            "started_by",
            "assignee_id",
            "contact_email",
            "contact_phone",
            "contact_name_key",
            "contact_name",
        ):
            batch_op.drop_column(column)
