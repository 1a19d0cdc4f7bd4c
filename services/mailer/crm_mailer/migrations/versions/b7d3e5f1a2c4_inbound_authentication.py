"""inbound authentication: the SMTP client's address and HELO, and the SPF/DKIM/DMARC results that count

Revision ID: b7d3e5f1a2c4
Revises: a1a5ba87ca54
Create Date: 2026-12-01 15:45:00.000000
"""

from typing import Sequence, Union

import sqlalchemy as sa

from alembic import op


revision: str = 'b7d3e5f1a2c4'
down_revision: Union[str, Sequence[str], None] = 'a1a5ba87ca54'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('inbound_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('client_ip', sa.String(length=45), nullable=True))
        batch_op.add_column(sa.Column('helo', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('spf', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('dkim', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('dmarc', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('dmarc_policy', sa.String(length=20), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('inbound_messages', schema=None) as batch_op:
        batch_op.drop_column('dmarc_policy')
        batch_op.drop_column('dmarc')
        batch_op.drop_column('dkim')
        batch_op.drop_column('spf')
        batch_op.drop_column('helo')
        batch_op.drop_column('client_ip')
