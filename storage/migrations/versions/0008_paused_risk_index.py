"""the paused clocks at risk in a column of their own

`list breaching` reads the paused clocks at risk (no running deadline, a risk instant). PostgreSQL judged
"deadline NULL" and "risk instant set" independent, took the risk index and read ~100,000 rows at a million
tickets (200 ms) to find the handful that are paused. A column that holds the risk instant of paused clocks
only is NULL everywhere else, which the planner knows from its statistics, so its index is always the choice.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 07:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sla_paused_risk_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_tickets_sla_paused_risk', ['sla_paused_risk_at'], unique=False)
    # A paused clock's risk instant is already in sla_risk_at (with sla_due_at NULL): copy it across.
    op.execute("UPDATE tickets SET sla_paused_risk_at = sla_risk_at "
               "WHERE sla_due_at IS NULL AND sla_risk_at IS NOT NULL")


def downgrade() -> None:
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_index('ix_tickets_sla_paused_risk')
        batch_op.drop_column('sla_paused_risk_at')
