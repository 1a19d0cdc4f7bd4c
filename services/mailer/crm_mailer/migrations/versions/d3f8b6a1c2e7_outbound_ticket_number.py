"""outbound mail keeps its ticket's number: a reply whose subject says [#1234] finds the ticket

Revision ID: d3f8b6a1c2e7
Revises: b3e8f0a2c4d6
Create Date: 2026-12-01 15:35:00

Mail sent before has no number; its subject's [#1a2b3c4d] (the end of the ticket's id) still finds it.
"""

from typing import Sequence, Union

import sqlalchemy as sa

from alembic import op


revision: str = 'd3f8b6a1c2e7'
down_revision: Union[str, Sequence[str], None] = 'b3e8f0a2c4d6'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('outbound_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ticket_number', sa.BigInteger(), nullable=True))
        batch_op.create_index(
            'ix_outbound_messages_workspace_id_ticket_number', ['workspace_id', 'ticket_number'], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table('outbound_messages', schema=None) as batch_op:
        batch_op.drop_index('ix_outbound_messages_workspace_id_ticket_number')
        batch_op.drop_column('ticket_number')
