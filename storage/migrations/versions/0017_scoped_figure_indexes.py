"""scoped figures read from indexes: `department` (and the top-N columns) in the managers' indexes

An agent's `/ticket stats week` is scoped to their department. With the department only in the table, every
figure of a large desk's week (tens of thousands of tickets) read each ticket's page: 1.6 s on PostgreSQL at a
million tickets, where the same figures unscoped took a tenth of it. The indexes the figures range over now end
with `department`, and the created-at one also holds the category, module and customer the top lists group by.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 02:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None

OPEN = "status IN ('in_progress', 'new', 'triaged', 'waiting_colleague', 'waiting_customer')"

# name: (columns before, columns after, partial predicate)
WIDENED = {
    'ix_tickets_created_at': (['created_at', 'frt_seconds'],
                              ['created_at', 'frt_seconds', 'department', 'category', 'product_module',
                               'customer_name'], None),
    'ix_tickets_resolved_at': (['resolved_at', 'ttr_seconds', 'assignee'],
                               ['resolved_at', 'ttr_seconds', 'assignee', 'department'], None),
    'ix_tickets_closed_at': (['closed_at'], ['closed_at', 'department'], None),
    'ix_tickets_response_due_at': (['response_due_at', 'first_response_at'],
                                   ['response_due_at', 'first_response_at', 'department'], None),
    'ix_tickets_resolve_by': (['resolve_by', 'resolved_at', 'closed_at'],
                              ['resolve_by', 'resolved_at', 'closed_at', 'department'], None),
    'ix_tickets_sla_due': (['sla_due_at', 'sla_risk_at'], ['sla_due_at', 'sla_risk_at', 'department'], None),
    'ix_tickets_open_queue': (['priority', 'created_at', 'id'], ['priority', 'created_at', 'id', 'department', 'assignee'],
                              OPEN),
    'ix_tickets_open_assignee': (['assignee', 'priority', 'created_at', 'id'],
                                 ['assignee', 'priority', 'created_at', 'id', 'department'], OPEN),
}


def _recreate(which: int) -> None:
    for name, (*columns, where) in WIDENED.items():
        partial = {} if where is None else {"sqlite_where": sa.text(where), "postgresql_where": sa.text(where)}
        op.drop_index(name, table_name='tickets')
        op.create_index(name, 'tickets', columns[which], unique=False, **partial)


def upgrade() -> None:
    _recreate(1)


def downgrade() -> None:
    _recreate(0)
