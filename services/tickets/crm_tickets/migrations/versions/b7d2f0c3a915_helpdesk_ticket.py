"""the helpdesk ticket: number, priority, responsible, timestamps, version, tags, status history

Revision ID: b7d2f0c3a915
Revises: 5401ed266481
Create Date: 2026-12-01 15:40:00

Existing tickets get their numbers in the order they were opened, per workspace; the counters start after
them. Their status ("open") stays. `number` and `updated_at` stay nullable in the database for one release:
the previous release, still running during a rolling upgrade, inserts tickets without them.
"""

from typing import Sequence, Union

import sqlalchemy as sa

import crm_platform.db
from alembic import op


revision: str = 'b7d2f0c3a915'
down_revision: Union[str, Sequence[str], None] = '5401ed266481'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('number', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('contact_name', sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column('contact_email', sa.String(length=320), nullable=True))
        batch_op.add_column(sa.Column('priority', sa.String(length=10), nullable=False, server_default='normal'))
        batch_op.add_column(sa.Column('responsible_id', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('channel', sa.String(length=20), nullable=False, server_default='api'))
        batch_op.add_column(sa.Column('merged_into_id', sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column('followup_of_id', sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column('version', sa.Integer(), nullable=False, server_default='1'))
        batch_op.add_column(sa.Column('updated_at', crm_platform.db.UtcDateTime(timezone=True), nullable=True))
        for column in ('first_response_at', 'last_customer_reply_at', 'last_agent_reply_at', 'solved_at', 'closed_at'):
            batch_op.add_column(sa.Column(column, crm_platform.db.UtcDateTime(timezone=True), nullable=True))

    op.execute(
        "UPDATE tickets SET updated_at = created_at, number = (SELECT n FROM (SELECT id, ROW_NUMBER() OVER "
        "(PARTITION BY workspace_id ORDER BY created_at, id) AS n FROM tickets) AS numbered "
        "WHERE numbered.id = tickets.id)"
    )
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.create_unique_constraint('uq_tickets_workspace_id_number', ['workspace_id', 'number'])

    op.create_table('ticket_counters',
    sa.Column('workspace_id', sa.String(length=36), nullable=False),
    sa.Column('last_number', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('workspace_id', name=op.f('pk_ticket_counters'))
    )
    op.execute(
        "INSERT INTO ticket_counters (workspace_id, last_number) "
        "SELECT workspace_id, MAX(number) FROM tickets GROUP BY workspace_id"
    )
    op.create_table('ticket_tags',
    sa.Column('workspace_id', sa.String(length=36), nullable=False),
    sa.Column('ticket_id', sa.String(length=36), nullable=False),
    sa.Column('tag', sa.String(length=50), nullable=False),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_ticket_tags_ticket_id_tickets')),
    sa.PrimaryKeyConstraint('workspace_id', 'ticket_id', 'tag', name=op.f('pk_ticket_tags'))
    )
    with op.batch_alter_table('ticket_tags', schema=None) as batch_op:
        batch_op.create_index('ix_ticket_tags_workspace_id_tag', ['workspace_id', 'tag'], unique=False)

    op.create_table('ticket_status_changes',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('workspace_id', sa.String(length=36), nullable=False),
    sa.Column('ticket_id', sa.String(length=36), nullable=False),
    sa.Column('from_status', sa.String(length=20), nullable=True),
    sa.Column('to_status', sa.String(length=20), nullable=False),
    sa.Column('actor_id', sa.String(length=100), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=True),
    sa.Column('changed_at', crm_platform.db.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_ticket_status_changes_ticket_id_tickets')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ticket_status_changes'))
    )
    with op.batch_alter_table('ticket_status_changes', schema=None) as batch_op:
        batch_op.create_index('ix_ticket_status_changes_workspace_id_ticket_id', ['workspace_id', 'ticket_id'], unique=False)


def downgrade() -> None:
    op.drop_table('ticket_status_changes')
    op.drop_table('ticket_tags')
    op.drop_table('ticket_counters')
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_constraint('uq_tickets_workspace_id_number', type_='unique')
        for column in ('closed_at', 'solved_at', 'last_agent_reply_at', 'last_customer_reply_at', 'first_response_at',
                       'updated_at', 'version', 'followup_of_id', 'merged_into_id', 'channel', 'responsible_id',
                       'priority', 'contact_email', 'contact_name', 'number'):
            batch_op.drop_column(column)
