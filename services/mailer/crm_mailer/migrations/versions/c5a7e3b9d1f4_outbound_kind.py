"""outbound mail names what it is: a ticket's comment, a conversation's message, or a direct SendEmail

Revision ID: c5a7e3b9d1f4
Revises: f2b9c4e6a8d1
Create Date: 2026-12-01 19:00:00

Mail queued before this is given its kind from what it kept: a conversation thread is a conversation's message,
a ticket number (only the comment mails carry one) a ticket's comment, the rest direct. Conversation mail queued
before threads had kinds reads as direct.
"""

from typing import Sequence, Union

import sqlalchemy as sa

from alembic import op


revision: str = 'c5a7e3b9d1f4'
down_revision: Union[str, Sequence[str], None] = 'f2b9c4e6a8d1'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('outbound_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=30), server_default='direct', nullable=False))
    op.execute("UPDATE outbound_messages SET kind = 'conversation_message' WHERE thread_kind = 'conversation'")
    op.execute(
        "UPDATE outbound_messages SET kind = 'ticket_comment' WHERE thread_kind = 'ticket' AND ticket_number IS NOT NULL"
    )


def downgrade() -> None:
    with op.batch_alter_table('outbound_messages', schema=None) as batch_op:
        batch_op.drop_column('kind')
