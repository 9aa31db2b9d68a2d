"""alerts: one row per (rule, subject, window), acknowledged by someone; tickets by requester and creation

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

OPEN = sa.text("acked_at IS NULL")


def upgrade() -> None:
    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("rule", sa.String(32), nullable=False),
        sa.Column("subject_key", sa.String(200), nullable=False),
        sa.Column("window_key", sa.String(32), nullable=False),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("recipients", sa.JSON(), nullable=False),
        sa.Column("acked_by", sa.String(128)),
        sa.Column("acked_at", sa.DateTime(timezone=True)),
        sa.UniqueConstraint("rule", "subject_key", "window_key", name="uq_alerts_rule_subject_window"),
    )
    op.create_index("ix_alerts_open", "alerts", ["raised_at"], sqlite_where=OPEN, postgresql_where=OPEN)
    # repeat_customer counts one customer's tickets of the last days: a range of this index, not of their history.
    op.create_index("ix_tickets_requester_created", "tickets", ["requester_platform", "requester_user_id",
                                                               "created_at"])


def downgrade() -> None:
    op.drop_index("ix_tickets_requester_created", table_name="tickets")
    op.drop_table("alerts")
