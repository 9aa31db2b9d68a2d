"""shared state of platform adapters

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 05:25:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('shared_state',
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('value', sa.JSON(), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_shared_state'))
    )
    with op.batch_alter_table('shared_state', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_shared_state_expires_at'), ['expires_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('shared_state', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_shared_state_expires_at'))
    op.drop_table('shared_state')
