"""comments by mail: HTML, signature, who wrote it (member or customer), the mail's delivery status, the
customer's original mail and the inbound event it came from

Revision ID: e4c1a9d07b52
Revises: e4a1c9d27b58
Create Date: 2026-12-01 15:30:00

Existing comments were all written by members; their delivery status stays unknown (NULL).
"""

from typing import Sequence, Union

import sqlalchemy as sa

from alembic import op


revision: str = 'e4c1a9d07b52'
down_revision: Union[str, Sequence[str], None] = 'e4a1c9d27b58'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('comments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('author_kind', sa.String(length=20), nullable=False, server_default='member'))
        batch_op.add_column(sa.Column('body_html', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('with_signature', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('mail_event_id', sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column('rfc822_message_id', sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column('delivery_status', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('delivery_detail', sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column('sender', sa.String(length=320), nullable=True))
        batch_op.add_column(sa.Column('sender_name', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('inbound_id', sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column('raw_url', sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column('source_event_id', sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column('notice', sa.String(length=500), nullable=True))
        batch_op.create_unique_constraint('uq_comments_source_event_id', ['source_event_id'])
        batch_op.create_index('ix_comments_mail_event_id', ['mail_event_id'], unique=False)
        batch_op.create_index(
            'ix_comments_workspace_id_rfc822_message_id', ['workspace_id', 'rfc822_message_id'], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table('comments', schema=None) as batch_op:
        batch_op.drop_index('ix_comments_workspace_id_rfc822_message_id')
        batch_op.drop_index('ix_comments_mail_event_id')
        batch_op.drop_constraint('uq_comments_source_event_id', type_='unique')
        for column in (
            'notice', 'source_event_id', 'raw_url', 'inbound_id', 'sender_name', 'sender', 'delivery_detail',
            'delivery_status', 'rfc822_message_id', 'mail_event_id', 'with_signature', 'body_html', 'author_kind',
        ):
            batch_op.drop_column(column)
