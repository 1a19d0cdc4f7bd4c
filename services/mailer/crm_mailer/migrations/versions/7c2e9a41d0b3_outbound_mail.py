"""outbound mail: authors, HTML, threading, automatic mail, attempts

Revision ID: 7c2e9a41d0b3
Revises: 1d4d03c1c9ed
Create Date: 2026-12-01 13:20:00.000000
"""

from typing import Sequence, Union

import sqlalchemy as sa

import crm_platform.db  # noqa: F401 - custom column types
from alembic import op


revision: str = '7c2e9a41d0b3'
down_revision: Union[str, Sequence[str], None] = '1d4d03c1c9ed'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('outbound_messages') as batch:
        batch.add_column(sa.Column('author_id', sa.String(length=36), nullable=True))
        batch.add_column(sa.Column('author_name', sa.String(length=200), nullable=True))
        batch.add_column(sa.Column('html_body', sa.Text(), nullable=True))
        batch.add_column(sa.Column('in_reply_to', sa.String(length=300), nullable=True))
        batch.add_column(sa.Column('references', sa.Text(), nullable=True))
        batch.add_column(sa.Column('automatic', sa.Boolean(), server_default=sa.false(), nullable=False))
    op.create_index(
        'ix_outbound_messages_workspace_id_ticket_id', 'outbound_messages', ['workspace_id', 'ticket_id'], unique=False
    )
    op.create_table('outbound_attempts',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('message_id', sa.String(length=36), nullable=False),
    sa.Column('attempted_at', crm_platform.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('outcome', sa.String(length=20), nullable=False),
    sa.Column('detail', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['message_id'], ['outbound_messages.id'], name=op.f('fk_outbound_attempts_message_id_outbound_messages'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbound_attempts'))
    )
    op.create_index('ix_outbound_attempts_message_id_attempted_at', 'outbound_attempts', ['message_id', 'attempted_at'], unique=False)
    op.create_table('outbound_unsubscribes',
    sa.Column('message_id', sa.String(length=36), nullable=False),
    sa.Column('workspace_id', sa.String(length=36), nullable=False),
    sa.Column('recipient', sa.String(length=320), nullable=False),
    sa.Column('unsubscribed_at', crm_platform.db.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['message_id'], ['outbound_messages.id'], name=op.f('fk_outbound_unsubscribes_message_id_outbound_messages'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('message_id', name=op.f('pk_outbound_unsubscribes'))
    )


def downgrade() -> None:
    op.drop_table('outbound_unsubscribes')
    op.drop_index('ix_outbound_attempts_message_id_attempted_at', table_name='outbound_attempts')
    op.drop_table('outbound_attempts')
    op.drop_index('ix_outbound_messages_workspace_id_ticket_id', table_name='outbound_messages')
    with op.batch_alter_table('outbound_messages') as batch:
        batch.drop_column('automatic')
        batch.drop_column('references')
        batch.drop_column('in_reply_to')
        batch.drop_column('html_body')
        batch.drop_column('author_name')
        batch.drop_column('author_id')
