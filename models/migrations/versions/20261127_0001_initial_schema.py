"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-27
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE SEQUENCE ticket_number_seq")
    op.create_table('category',
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('label', sa.String(length=64), nullable=False),
    sa.Column('description', sa.String(length=500), nullable=False),
    sa.Column('tags', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_category'))
    )
    op.create_table('chain',
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('label', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_chain'))
    )
    op.create_table('channel',
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('label', sa.String(length=64), nullable=False),
    sa.Column('description', sa.String(length=500), nullable=False),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_channel'))
    )
    op.create_table('county',
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_county'))
    )
    op.create_table('reference_version',
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('version', sa.String(length=32), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('loaded_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_reference_version'))
    )
    op.create_table('tier',
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('label', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_tier'))
    )
    op.create_table('town',
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('county_code', sa.String(length=32), nullable=False),
    sa.Column('centre_name', sa.String(length=128), nullable=False),
    sa.ForeignKeyConstraint(['county_code'], ['county.code'], name=op.f('fk_town_county_code_county')),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_town'))
    )
    op.create_index(op.f('ix_town_county_code'), 'town', ['county_code'], unique=False)
    op.create_table('enterprise',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('uscc', sa.String(length=18), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('county_code', sa.String(length=32), nullable=True),
    sa.Column('town_code', sa.String(length=64), nullable=True),
    sa.Column('chain_code', sa.String(length=32), nullable=True),
    sa.Column('tier_code', sa.String(length=32), nullable=True),
    sa.Column('above_scale', sa.Boolean(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['chain_code'], ['chain.code'], name=op.f('fk_enterprise_chain_code_chain')),
    sa.ForeignKeyConstraint(['county_code'], ['county.code'], name=op.f('fk_enterprise_county_code_county')),
    sa.ForeignKeyConstraint(['tier_code'], ['tier.code'], name=op.f('fk_enterprise_tier_code_tier')),
    sa.ForeignKeyConstraint(['town_code'], ['town.code'], name=op.f('fk_enterprise_town_code_town')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_enterprise')),
    sa.UniqueConstraint('uscc', name=op.f('uq_enterprise_uscc'))
    )
    op.create_table('unit',
    sa.Column('code', sa.String(length=80), nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('level', sa.String(length=16), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('county_code', sa.String(length=32), nullable=True),
    sa.Column('town_code', sa.String(length=64), nullable=True),
    sa.Column('webhook_url', sa.String(length=500), nullable=True),
    sa.Column('active', sa.Boolean(), server_default='true', nullable=False),
    sa.ForeignKeyConstraint(['county_code'], ['county.code'], name=op.f('fk_unit_county_code_county')),
    sa.ForeignKeyConstraint(['town_code'], ['town.code'], name=op.f('fk_unit_town_code_town')),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_unit'))
    )
    op.create_index(op.f('ix_unit_county_code'), 'unit', ['county_code'], unique=False)
    op.create_table('app_user',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('display_name', sa.String(length=64), nullable=False),
    sa.Column('password_hash', sa.String(length=100), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('unit_code', sa.String(length=80), nullable=True),
    sa.Column('active', sa.Boolean(), server_default='true', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['unit_code'], ['unit.code'], name=op.f('fk_app_user_unit_code_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_app_user')),
    sa.UniqueConstraint('username', name=op.f('uq_app_user_username'))
    )
    op.create_table('ticket',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('number', sa.String(length=32), nullable=False),
    sa.Column('channel_code', sa.String(length=32), nullable=False),
    sa.Column('external_id', sa.String(length=128), nullable=True),
    sa.Column('enterprise_id', sa.BigInteger(), nullable=False),
    sa.Column('enterprise_name', sa.String(length=200), nullable=False),
    sa.Column('uscc', sa.String(length=18), nullable=False),
    sa.Column('contact_name', sa.String(length=64), nullable=False),
    sa.Column('contact_phone', sa.String(length=32), nullable=False),
    sa.Column('county_code', sa.String(length=32), nullable=True),
    sa.Column('town_code', sa.String(length=64), nullable=True),
    sa.Column('request_type', sa.String(length=16), nullable=False),
    sa.Column('category_code', sa.String(length=32), nullable=True),
    sa.Column('urgency', sa.String(length=16), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('search_vector', postgresql.TSVECTOR(), nullable=False),
    sa.Column('status', sa.String(length=24), nullable=False),
    sa.Column('lead_unit_code', sa.String(length=80), nullable=True),
    sa.Column('assisting_units', postgresql.ARRAY(sa.String(length=80)), server_default='{}', nullable=False),
    sa.Column('registered_by_unit_code', sa.String(length=80), nullable=True),
    sa.Column('created_by_id', sa.BigInteger(), nullable=True),
    sa.Column('route_rule_id', sa.String(length=100), nullable=True),
    sa.Column('route_ruleset_version', sa.String(length=32), nullable=True),
    sa.Column('route_reasons', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('routed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('merged_into_id', sa.BigInteger(), nullable=True),
    sa.Column('accept_due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolve_due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.CheckConstraint("status IN ('new', 'pending_dispatch', 'assigned', 'refuse_review', 'in_progress', 'resolved', 'closed', 'merged')", name=op.f('ck_ticket_status_known')),
    sa.ForeignKeyConstraint(['category_code'], ['category.code'], name=op.f('fk_ticket_category_code_category')),
    sa.ForeignKeyConstraint(['channel_code'], ['channel.code'], name=op.f('fk_ticket_channel_code_channel')),
    sa.ForeignKeyConstraint(['county_code'], ['county.code'], name=op.f('fk_ticket_county_code_county')),
    sa.ForeignKeyConstraint(['created_by_id'], ['app_user.id'], name=op.f('fk_ticket_created_by_id_app_user')),
    sa.ForeignKeyConstraint(['enterprise_id'], ['enterprise.id'], name=op.f('fk_ticket_enterprise_id_enterprise')),
    sa.ForeignKeyConstraint(['lead_unit_code'], ['unit.code'], name=op.f('fk_ticket_lead_unit_code_unit')),
    sa.ForeignKeyConstraint(['merged_into_id'], ['ticket.id'], name=op.f('fk_ticket_merged_into_id_ticket')),
    sa.ForeignKeyConstraint(['registered_by_unit_code'], ['unit.code'], name=op.f('fk_ticket_registered_by_unit_code_unit')),
    sa.ForeignKeyConstraint(['town_code'], ['town.code'], name=op.f('fk_ticket_town_code_town')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ticket')),
    sa.UniqueConstraint('number', name=op.f('uq_ticket_number'))
    )
    op.create_index('ix_ticket_assisting_units', 'ticket', ['assisting_units'], unique=False, postgresql_using='gin')
    op.create_index('ix_ticket_category_id', 'ticket', ['category_code', 'id'], unique=False)
    op.create_index('ix_ticket_channel_id', 'ticket', ['channel_code', 'id'], unique=False)
    op.create_index('ix_ticket_county_id', 'ticket', ['county_code', 'id'], unique=False)
    op.create_index('ix_ticket_created_at', 'ticket', ['created_at'], unique=False)
    op.create_index('ix_ticket_enterprise_created', 'ticket', ['enterprise_id', 'created_at'], unique=False)
    op.create_index('ix_ticket_lead_unit_id', 'ticket', ['lead_unit_code', 'id'], unique=False)
    op.create_index('ix_ticket_merged_into', 'ticket', ['merged_into_id'], unique=False, postgresql_where=sa.text('merged_into_id IS NOT NULL'))
    op.create_index('ix_ticket_registered_unit_id', 'ticket', ['registered_by_unit_code', 'id'], unique=False)
    op.create_index('ix_ticket_search', 'ticket', ['search_vector'], unique=False, postgresql_using='gin')
    op.create_index('ix_ticket_status_id', 'ticket', ['status', 'id'], unique=False)
    op.create_index('ix_ticket_town_id', 'ticket', ['town_code', 'id'], unique=False)
    op.create_index('uq_ticket_channel_external_id', 'ticket', ['channel_code', 'external_id'], unique=True, postgresql_where=sa.text('external_id IS NOT NULL'))
    op.create_table('ticket_event',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('ticket_id', sa.BigInteger(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('from_status', sa.String(length=24), nullable=True),
    sa.Column('to_status', sa.String(length=24), nullable=True),
    sa.Column('actor_id', sa.BigInteger(), nullable=True),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('unit_code', sa.String(length=80), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), server_default=sa.text('clock_timestamp()'), nullable=False),
    sa.Column('payload', postgresql.JSONB(astext_type=sa.Text()), server_default='{}', nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['app_user.id'], name=op.f('fk_ticket_event_actor_id_app_user')),
    sa.ForeignKeyConstraint(['ticket_id'], ['ticket.id'], name=op.f('fk_ticket_event_ticket_id_ticket')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ticket_event'))
    )
    op.create_index('ix_ticket_event_at', 'ticket_event', ['at'], unique=False)
    op.create_index('ix_ticket_event_ticket_id', 'ticket_event', ['ticket_id', 'id'], unique=False)

    # The event table is the record every number is counted from: refuse edits and deletes.
    op.execute("""
        CREATE FUNCTION ticket_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'ticket_event is append-only (% refused)', TG_OP;
        END $$;
    """)
    op.execute("""
        CREATE TRIGGER ticket_event_append_only BEFORE UPDATE OR DELETE ON ticket_event
        FOR EACH ROW EXECUTE FUNCTION ticket_event_append_only()
    """)


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS ticket_event_append_only ON ticket_event")
    op.execute("DROP FUNCTION IF EXISTS ticket_event_append_only()")
    op.drop_index('ix_ticket_event_ticket_id', table_name='ticket_event')
    op.drop_index('ix_ticket_event_at', table_name='ticket_event')
    op.drop_table('ticket_event')
    op.drop_index('uq_ticket_channel_external_id', table_name='ticket', postgresql_where=sa.text('external_id IS NOT NULL'))
    op.drop_index('ix_ticket_town_id', table_name='ticket')
    op.drop_index('ix_ticket_status_id', table_name='ticket')
    op.drop_index('ix_ticket_search', table_name='ticket', postgresql_using='gin')
    op.drop_index('ix_ticket_registered_unit_id', table_name='ticket')
    op.drop_index('ix_ticket_merged_into', table_name='ticket', postgresql_where=sa.text('merged_into_id IS NOT NULL'))
    op.drop_index('ix_ticket_lead_unit_id', table_name='ticket')
    op.drop_index('ix_ticket_enterprise_created', table_name='ticket')
    op.drop_index('ix_ticket_created_at', table_name='ticket')
    op.drop_index('ix_ticket_county_id', table_name='ticket')
    op.drop_index('ix_ticket_channel_id', table_name='ticket')
    op.drop_index('ix_ticket_category_id', table_name='ticket')
    op.drop_index('ix_ticket_assisting_units', table_name='ticket', postgresql_using='gin')
    op.drop_table('ticket')
    op.drop_table('app_user')
    op.drop_index(op.f('ix_unit_county_code'), table_name='unit')
    op.drop_table('unit')
    op.drop_table('enterprise')
    op.drop_index(op.f('ix_town_county_code'), table_name='town')
    op.drop_table('town')
    op.drop_table('tier')
    op.drop_table('reference_version')
    op.drop_table('county')
    op.drop_table('channel')
    op.drop_table('chain')
    op.drop_table('category')
    op.execute("DROP SEQUENCE IF EXISTS ticket_number_seq")
