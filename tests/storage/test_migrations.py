"""Migrations carry a database made by an earlier head forward, data included."""

from __future__ import annotations

from sqlalchemy import text

from bot.events import Conversation, ConversationKind, Platform
from bot.ports import OutgoingKind
from bot.subjects import Subject
from storage.db import create_engine
from storage.migrate import downgrade, upgrade
from storage.store import SqlStore

TRIAGE = '{"platform": "slack", "id": "C1", "kind": "channel", "thread_id": null}'


async def _seed_0004(url: str, now) -> None:
    """What a 0004 database holds mid-flight: a ticket with a card, a fired reminder and a pending card update."""
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.execute(text(
                "INSERT INTO tickets (id, version, title, description, status, priority, category, impact,"
                " customer_name, customer_tier, tags, requester_platform, requester_user_id, source,"
                " created_at, updated_at, sla_pauses)"
                " VALUES (1, 1, 't', '', 'new', 'P2', 'other', 'one_user', '', 'normal', '[]', 'slack', 'U1',"
                " :source, :at, :at, '[]')"), {"source": TRIAGE, "at": now})
            await connection.execute(text(
                "INSERT INTO card_placements (id, ticket_id, target, target_platform, target_id, message_ref,"
                " viewer_role, language, created_at) VALUES (7, 1, :target, 'slack', 'C1', '171.1', 'agent', 'en', :at)"),
                {"target": TRIAGE, "at": now})
            await connection.execute(text(
                "INSERT INTO sla_notifications (ticket_id, key, fired_at, sent) VALUES (1, 'respond:x:remind:50', :at, :sent)"),
                {"at": now, "sent": True})
            await connection.execute(text(
                "INSERT INTO outbox (created_at, kind, target, target_key, ticket_id, placement_id, viewer_role, language,"
                " status, attempts, next_attempt_at) VALUES (:at, 'card_update', :target, 'slack|C1', 1, 7, 'agent',"
                " 'en', 'pending', 0, :at)"), {"target": TRIAGE, "at": now})
            if engine.dialect.name == "postgresql":
                await connection.execute(text("SELECT setval('tickets_id_seq', 1)"))
                await connection.execute(text("SELECT setval('card_placements_id_seq', 7)"))
    finally:
        await engine.dispose()


async def test_subjects_migration_keeps_cards_claims_and_pending_messages(empty_database_url, clock):
    url = empty_database_url
    await upgrade(url, "0004")
    await _seed_0004(url, clock.now())
    await upgrade(url)
    store = SqlStore(create_engine(url), clock)
    ticket = Subject.ticket(1)
    try:
        async with store.unit() as uow:
            [placement] = await uow.placements(ticket)
            assert (placement.id, placement.subject, placement.message_ref) == (7, ticket, "171.1")
            assert await uow.fired_notifications(ticket) == {"respond:x:remind:50"}
            assert await uow.claim_notifications([(ticket, "respond:x:remind:50", True)]) == set(), "still fired once"
            thread = Conversation(platform=Platform.SLACK, id="C1", kind=ConversationKind.CHANNEL, thread_id="171.1")
            assert (await uow.find_ticket_by_thread(thread)).id == 1, "the card still anchors the ticket's thread"
        [item] = await store.claim_outbox(clock.now())
        assert (item.message.kind, item.message.subject, item.message.placement_id) == (
            OutgoingKind.CARD_UPDATE, ticket, 7), "the pending update still names its card"
        await downgrade(url, "0004")
        await upgrade(url)
        async with store.unit() as uow:
            assert [p.id for p in await uow.placements(ticket)] == [7], "down and up again keeps the cards"
            assert await uow.fired_notifications(ticket) == {"respond:x:remind:50"}
    finally:
        await store.close()


async def test_timeline_reasons_written_as_sentences_become_data(empty_database_url, clock):
    url = empty_database_url
    await upgrade(url, "0008")
    engine = create_engine(url)
    old = [  # (kind, text, after) as heads before 0010 wrote them
        ("assigned", "by the requester", "alice"), ("assigned", "rule 'VIP customers'", "li"),
        ("assigned", "least-loaded in support", "alice"), ("linked", "follows the closed ticket", "T-000002"),
        ("routed", "rule 'invoices'", "category=billing, department=finance"), ("status", "customer is away", "waiting"),
    ]
    try:
        async with engine.begin() as connection:
            await connection.execute(text(
                "INSERT INTO tickets (id, version, title, description, status, priority, category, impact,"
                " customer_name, customer_tier, tags, requester_platform, requester_user_id, source,"
                " created_at, updated_at, sla_pauses)"
                " VALUES (1, 1, 't', '', 'new', 'P2', 'other', 'one_user', '', 'normal', '[]', 'slack', 'U1',"
                " :source, :at, :at, '[]')"), {"source": TRIAGE, "at": clock.now()})
            for kind, said, after in old:
                await connection.execute(text(
                    "INSERT INTO timeline (ticket_id, at, kind, actor, platform, after, text, visibility)"
                    " VALUES (1, :at, :kind, 'alice', 'slack', :after, :text, 'internal')"),
                    {"at": clock.now(), "kind": kind, "after": after, "text": said})
    finally:
        await engine.dispose()
    await upgrade(url)
    store = SqlStore(create_engine(url), clock)
    try:
        async with store.unit() as uow:
            entries = await uow.timeline(1)
        assert [(e.kind, e.detail, e.text) for e in entries] == [
            ("assigned", {"how": "requester"}, None),
            ("assigned", {"how": "rule", "rule": "VIP customers"}, None),
            ("assigned", {"how": "least-loaded", "department": "support"}, None),
            ("linked", {"link": "follows"}, None),
            ("routed", {"rule": "invoices", "category": "billing", "department": "finance"}, None),
            ("status", None, "customer is away"),  # a person's words stay words
        ]
    finally:
        await store.close()
