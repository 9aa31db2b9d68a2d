"""query indexes: stats, lists and the breaching list at a million tickets

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24 02:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

OPEN = "status IN ('in_progress', 'new', 'triaged', 'waiting_colleague', 'waiting_customer')"
NOT_CLOSED = "status <> 'closed'"
AT_RISK_LEFT = 0.2


def upgrade() -> None:
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sla_due_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('sla_risk_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.drop_index(batch_op.f('ix_tickets_status'))
        batch_op.create_index('ix_tickets_status_priority', ['status', 'priority'], unique=False,
                              sqlite_where=sa.text(NOT_CLOSED), postgresql_where=sa.text(NOT_CLOSED))
        batch_op.create_index('ix_tickets_open_queue', ['priority', 'created_at', 'id'], unique=False,
                              sqlite_where=sa.text(OPEN), postgresql_where=sa.text(OPEN))
        batch_op.create_index('ix_tickets_open_assignee', ['assignee', 'priority', 'created_at', 'id'], unique=False,
                              sqlite_where=sa.text(OPEN), postgresql_where=sa.text(OPEN))
        batch_op.create_index('ix_tickets_sla_due', ['sla_due_at', 'sla_risk_at'], unique=False)
        batch_op.create_index('ix_tickets_sla_risk', ['sla_risk_at'], unique=False)
    _backfill()


def _backfill() -> None:
    """The derived columns of the open tickets (as storage.sla_index computes them; frozen here)."""
    tickets = sa.table('tickets', sa.column('id'), sa.column('status'), sa.column('created_at', sa.DateTime()),
                       sa.column('respond_by', sa.DateTime()), sa.column('resolve_by', sa.DateTime()),
                       sa.column('first_response_at', sa.DateTime()), sa.column('sla_paused_at', sa.DateTime()),
                       sa.column('sla_due_at', sa.DateTime()), sa.column('sla_risk_at', sa.DateTime()))
    bind = op.get_bind()
    rows = bind.execute(sa.select(tickets.c.id, tickets.c.created_at, tickets.c.respond_by, tickets.c.resolve_by,
                                  tickets.c.first_response_at, tickets.c.sla_paused_at)
                        .where(sa.text(OPEN)).order_by(tickets.c.id)).all()
    update = (sa.update(tickets).where(tickets.c.id == sa.bindparam('b_id'))
              .values(sla_due_at=sa.bindparam('b_due'), sla_risk_at=sa.bindparam('b_risk')))
    values = []
    for row in rows:
        due = row.respond_by if row.respond_by is not None and row.first_response_at is None else row.resolve_by
        if due is None or row.created_at is None:
            continue
        risk = min(due, row.created_at + (due - row.created_at) * (1 - AT_RISK_LEFT))
        if row.sla_paused_at is not None:
            due, risk = None, (row.sla_paused_at if row.sla_paused_at >= risk else None)
        values.append({'b_id': row.id, 'b_due': due, 'b_risk': risk})
    for start in range(0, len(values), 5000):
        bind.execute(update, values[start:start + 5000])


def downgrade() -> None:
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_index('ix_tickets_sla_risk')
        batch_op.drop_index('ix_tickets_sla_due')
        batch_op.drop_index('ix_tickets_open_assignee')
        batch_op.drop_index('ix_tickets_open_queue')
        batch_op.drop_index('ix_tickets_status_priority')
        batch_op.create_index(batch_op.f('ix_tickets_status'), ['status'], unique=False)
        batch_op.drop_column('sla_risk_at')
        batch_op.drop_column('sla_due_at')
