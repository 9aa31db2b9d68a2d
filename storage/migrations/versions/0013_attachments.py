"""attachments: a record per file on a ticket, and the bytes by digest (the database content store)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05 17:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'attachments',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('ticket_id', sa.Integer(), nullable=False),
        sa.Column('entry_id', sa.Integer(), nullable=True),
        sa.Column('name', sa.String(length=255), nullable=False),
        sa.Column('mime', sa.String(length=255), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('actor', sa.String(length=200), nullable=False),
        sa.Column('platform', sa.String(length=16), nullable=False),
        sa.Column('public', sa.Boolean(), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name='fk_attachments_ticket_id_tickets'),
        sa.ForeignKeyConstraint(['entry_id'], ['timeline.id'], name='fk_attachments_entry_id_timeline'),
        sa.PrimaryKeyConstraint('id', name='pk_attachments'),
        sa.UniqueConstraint('ticket_id', 'sha256', name='uq_attachments_ticket_sha256'),
    )
    op.create_index('ix_attachments_ticket', 'attachments', ['ticket_id', 'id'], unique=False)
    op.create_table(
        'attachment_contents',
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('data', sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint('sha256', name='pk_attachment_contents'),
    )


def downgrade() -> None:
    op.drop_table('attachment_contents')
    op.drop_index('ix_attachments_ticket', table_name='attachments')
    op.drop_table('attachments')
