"""managers' figures and digests: outcome facts on tickets, period indexes, reopens, digest runs

The KPIs are ranges over the period: tickets by created / resolved / closed instant and by their response and
resolution deadlines; reopens by instant (a partial index over the few status lines that reopen). A ticket keeps
its response deadline after it was answered, and its first response and resolution times on its SLA clock
(written by the domain on every change; tickets answered before this revision have none: the figures count
what they know). Digest runs are claimed once per (digest, period) by a unique key.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05 17:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

REOPENS = sa.text("kind = 'status' AND \"before\" IN ('resolved', 'closed') AND \"after\" NOT IN ('resolved', 'closed')")

REPLIES = sa.text("kind = 'reply'")


def upgrade() -> None:
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('response_due_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('frt_seconds', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('ttr_seconds', sa.Integer(), nullable=True))
        batch_op.create_index('ix_tickets_response_due_at', ['response_due_at', 'first_response_at'], unique=False)
        batch_op.create_index('ix_tickets_created_at', ['created_at', 'frt_seconds'], unique=False)
        batch_op.create_index('ix_tickets_resolved_at', ['resolved_at', 'ttr_seconds', 'assignee'], unique=False)
        batch_op.create_index('ix_tickets_closed_at', ['closed_at'], unique=False)
        batch_op.create_index('ix_tickets_resolve_by', ['resolve_by', 'resolved_at', 'closed_at'], unique=False)
    op.create_index('ix_timeline_reopens', 'timeline', ['at'], unique=False, sqlite_where=REOPENS,
                    postgresql_where=REOPENS)
    op.create_index('ix_timeline_ticket_reopens', 'timeline', ['ticket_id'], unique=False, sqlite_where=REOPENS,
                    postgresql_where=REOPENS)
    op.create_index('ix_timeline_ticket_replies', 'timeline', ['ticket_id'], unique=False, sqlite_where=REPLIES,
                    postgresql_where=REPLIES)
    op.create_table(
        'digest_runs',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('name', sa.String(length=100), nullable=True),
        sa.Column('period', sa.String(length=32), nullable=False),
        sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('figures', sa.JSON(), nullable=False),
        sa.Column('chart', sa.LargeBinary(), nullable=True),
        sa.Column('chart_refs', sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_digest_runs')),
        sa.UniqueConstraint('name', 'period', name='uq_digest_runs_name_period'),
    )


def downgrade() -> None:
    op.drop_table('digest_runs')
    for name in ('ix_timeline_ticket_replies', 'ix_timeline_ticket_reopens', 'ix_timeline_reopens'):
        op.drop_index(name, table_name='timeline')
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        for name in ('ix_tickets_resolve_by', 'ix_tickets_closed_at', 'ix_tickets_resolved_at',
                     'ix_tickets_created_at', 'ix_tickets_response_due_at'):
            batch_op.drop_index(name)
        for column in ('ttr_seconds', 'frt_seconds', 'response_due_at'):
            batch_op.drop_column(column)
