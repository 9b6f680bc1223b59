"""lifecycle deadlines flags clocks notifications

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('notification',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('ticket_id', sa.BigInteger(), nullable=False),
    sa.Column('target', sa.String(length=16), nullable=False),
    sa.Column('unit_code', sa.String(length=80), nullable=True),
    sa.Column('url', sa.String(length=500), nullable=True),
    sa.Column('event', sa.String(length=32), nullable=False),
    sa.Column('payload', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('status', sa.String(length=16), server_default='pending', nullable=False),
    sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['ticket_id'], ['ticket.id'], name=op.f('fk_notification_ticket_id_ticket')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notification'))
    )
    op.create_index('ix_notification_due', 'notification', ['next_attempt_at'], unique=False, postgresql_where=sa.text("status = 'pending'"))
    op.create_index('ix_notification_ticket', 'notification', ['ticket_id'], unique=False)
    op.create_table('ticket_clock',
    sa.Column('ticket_id', sa.BigInteger(), nullable=False),
    sa.Column('total_seconds', sa.Float(), nullable=False),
    sa.Column('accept_seconds', sa.Float(), nullable=False),
    sa.Column('handle_seconds', sa.Float(), nullable=False),
    sa.Column('paused_seconds', sa.Float(), nullable=False),
    sa.Column('segments', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('computed_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['ticket_id'], ['ticket.id'], name=op.f('fk_ticket_clock_ticket_id_ticket')),
    sa.PrimaryKeyConstraint('ticket_id', name=op.f('pk_ticket_clock'))
    )
    op.create_table('notification_attempt',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('notification_id', sa.BigInteger(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), server_default=sa.text('clock_timestamp()'), nullable=False),
    sa.Column('status_code', sa.Integer(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('duration_ms', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['notification_id'], ['notification.id'], name=op.f('fk_notification_attempt_notification_id_notification')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notification_attempt'))
    )
    op.create_index('ix_notification_attempt_notification', 'notification_attempt', ['notification_id'], unique=False)
    op.add_column('ticket', sa.Column('remind_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('ticket', sa.Column('red_due_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('ticket', sa.Column('due_provisional', sa.Boolean(), server_default='false', nullable=False))
    op.add_column('ticket', sa.Column('resolve_days', sa.Integer(), nullable=True))
    op.add_column('ticket', sa.Column('accept_hours', sa.Float(), nullable=True))
    op.add_column('ticket', sa.Column('assigned_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('ticket', sa.Column('resolve_from_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('ticket', sa.Column('reminded_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('ticket', sa.Column('supervision', sa.String(length=8), nullable=True))
    op.add_column('ticket', sa.Column('supervised_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('ticket', sa.Column('accepted_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('ticket', sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('ticket', sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('ticket', sa.Column('opinion', sa.Text(), nullable=True))
    op.add_column('ticket', sa.Column('pending_refusal', postgresql.JSONB(astext_type=sa.Text()), nullable=True))
    op.add_column('ticket', sa.Column('pending_extension', postgresql.JSONB(astext_type=sa.Text()), nullable=True))
    op.add_column('ticket', sa.Column('reopen_count', sa.Integer(), server_default='0', nullable=False))
    op.add_column('ticket', sa.Column('satisfaction', sa.String(length=24), nullable=True))
    op.add_column('ticket', sa.Column('solved', sa.Boolean(), nullable=True))
    op.add_column('ticket', sa.Column('feedback_at', sa.DateTime(timezone=True), nullable=True))
    op.create_index('ix_ticket_accept_due', 'ticket', ['accept_due_at'], unique=False, postgresql_where=sa.text("supervision IS NULL AND status = 'assigned'"))
    op.create_index('ix_ticket_red_due', 'ticket', ['red_due_at'], unique=False, postgresql_where=sa.text("supervision = 'yellow' AND status IN ('assigned', 'in_progress')"))
    op.create_index('ix_ticket_remind_due', 'ticket', ['remind_at'], unique=False, postgresql_where=sa.text("reminded_at IS NULL AND status IN ('assigned', 'in_progress')"))
    op.create_index('ix_ticket_yellow_due', 'ticket', ['resolve_due_at'], unique=False, postgresql_where=sa.text("supervision IS NULL AND status IN ('assigned', 'in_progress')"))


def downgrade() -> None:
    op.drop_index('ix_ticket_yellow_due', table_name='ticket', postgresql_where=sa.text("supervision IS NULL AND status IN ('assigned', 'in_progress')"))
    op.drop_index('ix_ticket_remind_due', table_name='ticket', postgresql_where=sa.text("reminded_at IS NULL AND status IN ('assigned', 'in_progress')"))
    op.drop_index('ix_ticket_red_due', table_name='ticket', postgresql_where=sa.text("supervision = 'yellow' AND status IN ('assigned', 'in_progress')"))
    op.drop_index('ix_ticket_accept_due', table_name='ticket', postgresql_where=sa.text("supervision IS NULL AND status = 'assigned'"))
    op.drop_column('ticket', 'feedback_at')
    op.drop_column('ticket', 'solved')
    op.drop_column('ticket', 'satisfaction')
    op.drop_column('ticket', 'reopen_count')
    op.drop_column('ticket', 'pending_extension')
    op.drop_column('ticket', 'pending_refusal')
    op.drop_column('ticket', 'opinion')
    op.drop_column('ticket', 'closed_at')
    op.drop_column('ticket', 'resolved_at')
    op.drop_column('ticket', 'accepted_at')
    op.drop_column('ticket', 'supervised_at')
    op.drop_column('ticket', 'supervision')
    op.drop_column('ticket', 'reminded_at')
    op.drop_column('ticket', 'resolve_days')
    op.drop_column('ticket', 'accept_hours')
    op.drop_column('ticket', 'assigned_at')
    op.drop_column('ticket', 'resolve_from_at')
    op.drop_column('ticket', 'due_provisional')
    op.drop_column('ticket', 'red_due_at')
    op.drop_column('ticket', 'remind_at')
    op.drop_index('ix_notification_attempt_notification', table_name='notification_attempt')
    op.drop_table('notification_attempt')
    op.drop_table('ticket_clock')
    op.drop_index('ix_notification_ticket', table_name='notification')
    op.drop_index('ix_notification_due', table_name='notification', postgresql_where=sa.text("status = 'pending'"))
    op.drop_table('notification')
