"""the local console's messages

The console's chat history lived in memory and vanished on every restart; it is the console's platform API,
so it is kept in the database like any other platform's messages.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('console_messages',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('conversation', sa.String(length=255), nullable=False),
    sa.Column('thread', sa.String(length=255), nullable=True),
    sa.Column('html', sa.Text(), nullable=False),
    sa.Column('card', sa.Boolean(), nullable=False),
    sa.Column('ephemeral_user', sa.String(length=255), nullable=True),
    sa.Column('author', sa.String(length=200), nullable=False),
    sa.Column('bot', sa.Boolean(), nullable=False),
    sa.Column('posted_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_console_messages')),
    sa.UniqueConstraint('seq', name=op.f('uq_console_messages_seq'))
    )


def downgrade() -> None:
    op.drop_table('console_messages')
