"""cross-department requests: a question on a ticket for a colleague, with a deadline

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 18:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

OPEN = sa.text("status IN ('open', 'accepted')")


def upgrade() -> None:
    op.create_table(
        "requests",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), sa.ForeignKey("tickets.id"), nullable=False),
        sa.Column("asker", sa.String(200), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("asked_person", sa.String(200)),
        sa.Column("asked_department", sa.String(64)),
        sa.Column("deadline", sa.DateTime(timezone=True)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("answer", sa.Text()),
        sa.Column("answered_by", sa.String(200)),
        sa.Column("asked_from", sa.JSON()),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("settled_at", sa.DateTime(timezone=True)),
        sa.Column("next_due_at", sa.DateTime(timezone=True)),
    )
    op.create_index("ix_requests_next_due_at", "requests", ["next_due_at"])
    op.create_index("ix_requests_ticket", "requests", ["ticket_id", "status"])
    for name, column in (("person", "asked_person"), ("department", "asked_department"), ("asker", "asker")):
        op.create_index(f"ix_requests_open_{name}", "requests", [column, "deadline", "id"],
                        sqlite_where=OPEN, postgresql_where=OPEN)


def downgrade() -> None:
    op.drop_table("requests")
