"""conversation parts as columns

Tickets and card placements find a thread by (platform, conversation, thread) columns instead of one
"a|b|c" key string, which two different conversations could share.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 16:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

# JSON column on tickets → prefix of its part columns, and the key column they replace.
TICKET_CONVERSATIONS = {"customer_conversation": ("customer_conv", "customer_conv_key"),
                        "agent_thread": ("agent_conv", "agent_thread_key")}
PARTS = (("platform", 16), ("id", 255), ("thread", 255))


def _tickets_table(*extra: sa.Column) -> sa.TableClause:
    return sa.table("tickets", sa.column("id", sa.Integer), sa.column("customer_conversation", sa.JSON),
                    sa.column("agent_thread", sa.JSON), *extra)


def _placements_table(*extra: sa.Column) -> sa.TableClause:
    return sa.table("card_placements", sa.column("id", sa.Integer), sa.column("target", sa.JSON),
                    sa.column("message_ref", sa.String), *extra)


def upgrade() -> None:
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        for prefix, _key in TICKET_CONVERSATIONS.values():
            for part, length in PARTS:
                batch_op.add_column(sa.Column(f'{prefix}_{part}', sa.String(length=length), nullable=True))
    with op.batch_alter_table('card_placements', schema=None) as batch_op:
        batch_op.add_column(sa.Column('target_platform', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('target_id', sa.String(length=255), nullable=True))

    bind = op.get_bind()
    columns = [sa.column(f"{prefix}_{part}", sa.String) for prefix, _ in TICKET_CONVERSATIONS.values() for part, _ in PARTS]
    tickets = _tickets_table(*columns)
    for row in bind.execute(sa.select(tickets.c.id, tickets.c.customer_conversation, tickets.c.agent_thread)).mappings():
        values = {}
        for source, (prefix, _key) in TICKET_CONVERSATIONS.items():
            conversation = row[source] or {}
            for part in ("platform", "id"):
                values[f"{prefix}_{part}"] = conversation.get(part)
            values[f"{prefix}_thread"] = conversation.get("thread_id")
        if any(values.values()):
            bind.execute(tickets.update().where(tickets.c.id == row["id"]).values(**values))
    placements = _placements_table(sa.column("target_platform", sa.String), sa.column("target_id", sa.String))
    for row in bind.execute(sa.select(placements.c.id, placements.c.target)).mappings():
        bind.execute(placements.update().where(placements.c.id == row["id"])
                     .values(target_platform=row["target"]["platform"], target_id=row["target"]["id"]))

    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_index('ix_tickets_agent_thread_key')
        batch_op.drop_index('ix_tickets_customer_conv_key')
        batch_op.drop_column('agent_thread_key')
        batch_op.drop_column('customer_conv_key')
        batch_op.create_index('ix_tickets_customer_conv',
                              ['customer_conv_platform', 'customer_conv_id', 'customer_conv_thread'], unique=False)
        batch_op.create_index('ix_tickets_agent_conv',
                              ['agent_conv_platform', 'agent_conv_id', 'agent_conv_thread'], unique=False)
    with op.batch_alter_table('card_placements', schema=None) as batch_op:
        batch_op.drop_index('ix_card_placements_thread_key')
        batch_op.drop_column('thread_key')
        batch_op.alter_column('target_platform', existing_type=sa.String(length=16), nullable=False)
        batch_op.alter_column('target_id', existing_type=sa.String(length=255), nullable=False)
        batch_op.create_index('ix_card_placements_thread', ['target_platform', 'target_id', 'message_ref'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('customer_conv_key', sa.String(length=400), nullable=True))
        batch_op.add_column(sa.Column('agent_thread_key', sa.String(length=400), nullable=True))
    with op.batch_alter_table('card_placements', schema=None) as batch_op:
        batch_op.add_column(sa.Column('thread_key', sa.String(length=600), nullable=True))

    bind = op.get_bind()
    tickets = _tickets_table(sa.column("customer_conv_key", sa.String), sa.column("agent_thread_key", sa.String))
    for row in bind.execute(sa.select(tickets.c.id, tickets.c.customer_conversation, tickets.c.agent_thread)).mappings():
        values = {key: f"{c['platform']}|{c['id']}|{c.get('thread_id') or ''}"
                  for source, (_prefix, key) in TICKET_CONVERSATIONS.items() if (c := row[source])}
        if values:
            bind.execute(tickets.update().where(tickets.c.id == row["id"]).values(**values))
    placements = _placements_table(sa.column("thread_key", sa.String))
    for row in bind.execute(sa.select(placements.c.id, placements.c.target, placements.c.message_ref)).mappings():
        key = f"{row['target']['platform']}|{row['target']['id']}|{row['message_ref']}"
        bind.execute(placements.update().where(placements.c.id == row["id"]).values(thread_key=key))

    with op.batch_alter_table('card_placements', schema=None) as batch_op:
        batch_op.drop_index('ix_card_placements_thread')
        batch_op.drop_column('target_id')
        batch_op.drop_column('target_platform')
        batch_op.alter_column('thread_key', existing_type=sa.String(length=600), nullable=False)
        batch_op.create_index(batch_op.f('ix_card_placements_thread_key'), ['thread_key'], unique=False)
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_index('ix_tickets_agent_conv')
        batch_op.drop_index('ix_tickets_customer_conv')
        for prefix, _key in TICKET_CONVERSATIONS.values():
            for part, _length in PARTS:
                batch_op.drop_column(f'{prefix}_{part}')
        batch_op.create_index(batch_op.f('ix_tickets_agent_thread_key'), ['agent_thread_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_tickets_customer_conv_key'), ['customer_conv_key'], unique=False)
