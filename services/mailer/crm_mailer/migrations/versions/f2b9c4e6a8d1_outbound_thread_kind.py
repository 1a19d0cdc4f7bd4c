"""outbound mail names what its thread is: a ticket or a conversation

Revision ID: f2b9c4e6a8d1
Revises: d3f8b6a1c2e7
Create Date: 2026-12-01 16:50:00

Mail queued before this (tickets' public comments and conversations' SendEmail calls alike) is marked
``ticket``; a reply to an older conversation mail then falls through to the later threading rules, as before.
"""

from typing import Sequence, Union

import sqlalchemy as sa

from alembic import op


revision: str = 'f2b9c4e6a8d1'
down_revision: Union[str, Sequence[str], None] = 'd3f8b6a1c2e7'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('outbound_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('thread_kind', sa.String(length=20), server_default='ticket', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('outbound_messages', schema=None) as batch_op:
        batch_op.drop_column('thread_kind')
