"""subjects: outbox rows, card placements and fired notifications name a subject (kind + id); outbox urgency

Tickets were the only thing with a card; requests, digests and alerts come next. Outbox rows and card
placements now say which subject they show (`subject_kind`, `subject_id`) instead of `ticket_id`, and the
exactly-once claims of the deadline sweep move from `sla_notifications` (keyed by ticket) to
`notification_claims` (keyed by subject). Existing rows become subjects of kind 'ticket'.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 02:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

TICKET = "ticket"


def upgrade() -> None:
    op.create_table(
        'notification_claims',
        sa.Column('subject_kind', sa.String(length=16), nullable=False),
        sa.Column('subject_id', sa.Integer(), nullable=False),
        sa.Column('key', sa.String(length=200), nullable=False),
        sa.Column('fired_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('sent', sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint('subject_kind', 'subject_id', 'key', name=op.f('pk_notification_claims')),
    )
    op.execute(sa.text("INSERT INTO notification_claims (subject_kind, subject_id, key, fired_at, sent)"
                       f" SELECT '{TICKET}', ticket_id, key, fired_at, sent FROM sla_notifications"))
    op.drop_table('sla_notifications')

    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('subject_kind', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('subject_id', sa.Integer(), nullable=True))
        # Which messages a backlog sends first (0 answers to people, 1 card refreshes, 2 reminders).
        batch_op.add_column(sa.Column('urgency', sa.SmallInteger(), nullable=False, server_default=sa.text('0')))
    op.execute(sa.text(f"UPDATE outbox SET subject_kind = '{TICKET}', subject_id = ticket_id"
                       " WHERE ticket_id IS NOT NULL"))
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_column('ticket_id')

    with op.batch_alter_table('card_placements', schema=None) as batch_op:
        batch_op.add_column(sa.Column('subject_kind', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('subject_id', sa.Integer(), nullable=True))
    op.execute(sa.text(f"UPDATE card_placements SET subject_kind = '{TICKET}', subject_id = ticket_id"))
    with op.batch_alter_table('card_placements', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_card_placements_ticket_id'))
        batch_op.drop_constraint(batch_op.f('fk_card_placements_ticket_id_tickets'), type_='foreignkey')
        batch_op.drop_column('ticket_id')
        batch_op.alter_column('subject_kind', existing_type=sa.String(length=16), nullable=False)
        batch_op.alter_column('subject_id', existing_type=sa.Integer(), nullable=False)
        batch_op.create_index('ix_card_placements_subject', ['subject_kind', 'subject_id'], unique=False)


def downgrade() -> None:
    # Only ticket subjects existed before: rows of other kinds have nowhere to go and are dropped.
    with op.batch_alter_table('card_placements', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ticket_id', sa.Integer(), nullable=True))
    op.execute(sa.text(f"DELETE FROM card_placements WHERE subject_kind <> '{TICKET}'"))
    op.execute(sa.text("UPDATE card_placements SET ticket_id = subject_id"))
    with op.batch_alter_table('card_placements', schema=None) as batch_op:
        batch_op.drop_index('ix_card_placements_subject')
        batch_op.drop_column('subject_id')
        batch_op.drop_column('subject_kind')
        batch_op.alter_column('ticket_id', existing_type=sa.Integer(), nullable=False)
        batch_op.create_foreign_key(batch_op.f('fk_card_placements_ticket_id_tickets'), 'tickets', ['ticket_id'], ['id'])
        batch_op.create_index(batch_op.f('ix_card_placements_ticket_id'), ['ticket_id'], unique=False)

    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ticket_id', sa.Integer(), nullable=True))
    op.execute(sa.text(f"UPDATE outbox SET ticket_id = subject_id WHERE subject_kind = '{TICKET}'"))
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_column('urgency')
        batch_op.drop_column('subject_id')
        batch_op.drop_column('subject_kind')

    op.create_table(
        'sla_notifications',
        sa.Column('ticket_id', sa.Integer(), nullable=False),
        sa.Column('key', sa.String(length=200), nullable=False),
        sa.Column('fired_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('sent', sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_sla_notifications_ticket_id_tickets')),
        sa.PrimaryKeyConstraint('ticket_id', 'key', name=op.f('pk_sla_notifications')),
    )
    op.execute(sa.text("INSERT INTO sla_notifications (ticket_id, key, fired_at, sent)"
                       " SELECT subject_id, key, fired_at, sent FROM notification_claims"
                       f" WHERE subject_kind = '{TICKET}'"))
    op.drop_table('notification_claims')
