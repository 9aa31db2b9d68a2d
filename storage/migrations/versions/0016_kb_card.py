"""kb_card: articles suggested on a ticket's triage card, and public articles offered to its customer

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-08 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "kb_suggestions",
        sa.Column("ticket_id", sa.Integer(), sa.ForeignKey("tickets.id"), primary_key=True),
        sa.Column("rank", sa.Integer(), primary_key=True),
        sa.Column("article_id", sa.Integer(), sa.ForeignKey("kb_articles.id"), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True)),
    )
    op.create_table(
        "kb_offers",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("ticket_id", sa.Integer(), sa.ForeignKey("tickets.id"), nullable=False, unique=True),
        sa.Column("article_ids", sa.JSON(), nullable=False),
        sa.Column("requester_platform", sa.String(16), nullable=False),
        sa.Column("requester_user_id", sa.String(200), nullable=False),
        sa.Column("language", sa.String(16), nullable=False),
        sa.Column("offered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answer", sa.String(8)),
        sa.Column("answered_at", sa.DateTime(timezone=True)),
    )
    op.create_index("ix_kb_offers_offered_at", "kb_offers", ["offered_at", "answer"])


def downgrade() -> None:
    op.drop_table("kb_offers")
    op.drop_table("kb_suggestions")
