"""ticket automation settings, SLA calendar and policies, each ticket's deadlines

Revision ID: e4a1c9d27b58
Revises: b7d2f0c3a915
Create Date: 2026-12-01 16:00:00

New tables only, and an index on tickets (status, solved_at) for the auto-close loop. Tickets opened before
this revision get their deadlines when they next change, or when their workspace's SLA settings are saved
(which adds their rows, stale, for the breach loop to compute).
"""

from typing import Sequence, Union

import sqlalchemy as sa

import crm_platform.db
from alembic import op


revision: str = 'e4a1c9d27b58'
down_revision: Union[str, Sequence[str], None] = 'b7d2f0c3a915'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('ticket_automation_settings',
    sa.Column('workspace_id', sa.String(length=36), nullable=False),
    sa.Column('agent_reply_sets_pending', sa.Boolean(), nullable=False),
    sa.Column('closed_followup', sa.String(length=30), nullable=False),
    sa.Column('followup_after_days', sa.Integer(), nullable=False),
    sa.Column('auto_close_solved_after_days', sa.Integer(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('updated_at', crm_platform.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sa.String(length=100), nullable=False),
    sa.PrimaryKeyConstraint('workspace_id', name=op.f('pk_ticket_automation_settings'))
    )
    op.create_table('ticket_sla_settings',
    sa.Column('workspace_id', sa.String(length=36), nullable=False),
    sa.Column('time_zone', sa.String(length=64), nullable=False),
    sa.Column('business_hours', sa.JSON(), nullable=False),
    sa.Column('holidays', sa.JSON(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('updated_at', crm_platform.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sa.String(length=100), nullable=False),
    sa.PrimaryKeyConstraint('workspace_id', name=op.f('pk_ticket_sla_settings'))
    )
    op.create_table('ticket_sla_policies',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('workspace_id', sa.String(length=36), nullable=False),
    sa.Column('priority', sa.String(length=10), nullable=False),
    sa.Column('first_response_minutes', sa.Integer(), nullable=True),
    sa.Column('update_minutes', sa.Integer(), nullable=True),
    sa.Column('solution_minutes', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ticket_sla_policies')),
    sa.UniqueConstraint('workspace_id', 'priority', name='uq_ticket_sla_policies_workspace_id_priority')
    )
    op.create_table('ticket_slas',
    sa.Column('ticket_id', sa.String(length=36), nullable=False),
    sa.Column('workspace_id', sa.String(length=36), nullable=False),
    sa.Column('policy_id', sa.String(length=36), nullable=True),
    sa.Column('ticket_status', sa.String(length=20), nullable=False),
    sa.Column('first_response_due_at', crm_platform.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('first_response_met', sa.Boolean(), nullable=True),
    sa.Column('update_due_at', crm_platform.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('update_met', sa.Boolean(), nullable=True),
    sa.Column('solution_due_at', crm_platform.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('solution_met', sa.Boolean(), nullable=True),
    sa.Column('first_response_breached_at', crm_platform.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('update_breached_at', crm_platform.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('solution_breached_at', crm_platform.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('next_due_at', crm_platform.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('stale', sa.Boolean(), nullable=False),
    sa.Column('computed_at', crm_platform.db.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_ticket_slas_ticket_id_tickets')),
    sa.PrimaryKeyConstraint('ticket_id', name=op.f('pk_ticket_slas'))
    )
    with op.batch_alter_table('ticket_slas', schema=None) as batch_op:
        batch_op.create_index('ix_ticket_slas_next_due_at', ['next_due_at'], unique=False)
        batch_op.create_index('ix_ticket_slas_stale', ['stale'], unique=False)
        batch_op.create_index('ix_ticket_slas_workspace_id', ['workspace_id'], unique=False)
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.create_index('ix_tickets_status_solved_at', ['status', 'solved_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_index('ix_tickets_status_solved_at')
    op.drop_table('ticket_slas')
    op.drop_table('ticket_sla_policies')
    op.drop_table('ticket_sla_settings')
    op.drop_table('ticket_automation_settings')
