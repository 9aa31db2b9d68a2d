"""csat: one satisfaction survey per resolution of a ticket, and its answer

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05 18:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "csat",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), sa.ForeignKey("tickets.id"), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("requester_platform", sa.String(16), nullable=False),
        sa.Column("requester_user_id", sa.String(200), nullable=False),
        sa.Column("conversation", sa.JSON(), nullable=False),
        sa.Column("language", sa.String(16), nullable=False),
        sa.Column("scale", sa.String(8), nullable=False),
        sa.Column("asked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("score", sa.Integer()),
        sa.Column("not_solved", sa.Boolean(), nullable=False),
        sa.Column("comment", sa.Text()),
        sa.Column("rated_at", sa.DateTime(timezone=True)),
        sa.Column("next_due_at", sa.DateTime(timezone=True)),
        sa.UniqueConstraint("ticket_id", "resolved_at", name="uq_csat_ticket_resolution"),
    )
    op.create_index("ix_csat_requester", "csat", ["requester_platform", "requester_user_id", "asked_at"])
    op.create_index("ix_csat_asked_at", "csat", ["asked_at", "rated_at"])
    op.create_index("ix_csat_rated_at", "csat", ["rated_at", "score"])
    op.create_index("ix_csat_next_due_at", "csat", ["next_due_at"])


def downgrade() -> None:
    op.drop_table("csat")
