"""audit_event.action may be 'account': an admin or a user changing an account (deactivate, activate, password)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02
"""
from __future__ import annotations

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_constraint(op.f("ck_audit_event_action_known"), "audit_event", type_="check")
    op.create_check_constraint(op.f("ck_audit_event_action_known"), "audit_event",
                               "action IN ('export', 'read_contact', 'account')")


def downgrade() -> None:
    op.execute("DELETE FROM audit_event WHERE action = 'account'")
    op.drop_constraint(op.f("ck_audit_event_action_known"), "audit_event", type_="check")
    op.create_check_constraint(op.f("ck_audit_event_action_known"), "audit_event",
                               "action IN ('export', 'read_contact')")
