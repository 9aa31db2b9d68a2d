"""Storage on SQLite and PostgreSQL: round-trips, the version race, inbox, outbox claims and migrations."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from bot.events import Conversation, ConversationKind, Platform
from bot.ports import Outgoing, OutgoingKind, StaleTicket
from bot.tickets import Identity, Impact, Priority, Status, Ticket, Tier, TimelineEntry
from storage.db import create_engine
from storage.store import SqlStore
from storage.tables import Base

DM = Conversation(platform=Platform.SLACK, id="D1", kind=ConversationKind.DM)
THREAD = Conversation(platform=Platform.SLACK, id="C1", kind=ConversationKind.CHANNEL, thread_id="171.2")


def _ticket(**overrides) -> Ticket:
    values = dict(title="VPN 连不上", requester=Identity(Platform.SLACK, "U1"), source=DM, description="since 9am",
                  status=Status.WAITING_CUSTOMER, priority=Priority.P1, category="bug", product_module="vpn",
                  impact=Impact.DEPARTMENT, customer_name="ACME", customer_tier=Tier.VIP, customer_language="zh-CN",
                  assignee="alice", department="support", tags=["network", "vip"], customer_conversation=DM,
                  agent_thread=THREAD, first_response_at=datetime(2026, 11, 20, 3, 0, tzinfo=UTC))
    values.update(overrides)
    return Ticket(**values)


async def test_ticket_round_trip_keeps_every_field(store):
    async with store.unit() as uow:
        added = await uow.add_ticket(_ticket())
    async with store.unit() as uow:
        loaded = await uow.get_ticket(added.id)
    assert loaded == added
    assert loaded.first_response_at.tzinfo is not None and loaded.created_at.utcoffset() == timedelta(0)
    async with store.unit() as uow:
        assert (await uow.find_ticket_by_thread(THREAD)).id == added.id
        assert (await uow.find_ticket_by_thread(THREAD.thread("other"))) is None


async def test_two_concurrent_saves_one_wins_the_other_is_told_who(database_url, clock):
    stores = [SqlStore(create_engine(database_url), clock) for _ in range(2)]
    try:
        async with stores[0].unit() as uow:
            ticket = await uow.add_ticket(_ticket())
            await uow.append_timeline(TimelineEntry(ticket.id, "created", "alice", Platform.SLACK, clock.now()))
        read = asyncio.Event()
        readers = 0

        async def change(store, who):
            nonlocal readers
            async with store.unit() as uow:
                mine = await uow.get_ticket(ticket.id) if store is stores[0] else None
                readers += 1
                if readers == 2:
                    read.set()
                if mine is None:
                    mine = _ticket(id=ticket.id, version=1)  # what the other one read before anyone saved
                await asyncio.wait_for(read.wait(), 5)
                mine.assignee = who
                saved = await uow.save_ticket(mine)
                await uow.append_timeline(TimelineEntry(ticket.id, "assigned", who, Platform.SLACK, clock.now()))
                return saved

        results = await asyncio.gather(change(stores[0], "li"), change(stores[1], "lin"), return_exceptions=True)
        stale = [r for r in results if isinstance(r, StaleTicket)]
        saved = [r for r in results if isinstance(r, Ticket)]
        assert len(stale) == 1 and len(saved) == 1
        assert stale[0].changed_by == saved[0].assignee and stale[0].current.version == 2
    finally:
        for store in stores:
            await store.close()


async def test_delivery_recorded_once_and_pending_until_done(store):
    assert await store.record_delivery(Platform.SLACK, "Ev1", {"a": 1}) is True
    assert await store.record_delivery(Platform.SLACK, "Ev1", {"a": 1}) is False
    assert await store.record_delivery(Platform.WECOM, "Ev1", {"b": 2}) is True  # ids are per platform
    assert [d[1] for d in await store.pending_deliveries()] == ["Ev1", "Ev1"]
    async with store.unit() as uow:
        await uow.mark_delivery_done(Platform.SLACK, "Ev1")
    assert await store.pending_deliveries() == [(Platform.WECOM, "Ev1", {"b": 2})]


def _text(to: str, text: str) -> Outgoing:
    return Outgoing(OutgoingKind.TEXT, Conversation(platform=Platform.SLACK, id=to), text=text)


async def test_outbox_keeps_order_per_conversation_and_leases(store, clock):
    async with store.unit() as uow:
        for to, text in (("C1", "one"), ("C1", "two"), ("C2", "other")):
            await uow.enqueue(_text(to, text))
    first = await store.claim_outbox(clock.now(), lease_seconds=30)
    assert [i.message.text for i in first] == ["one", "two", "other"], "a conversation's run, in order"
    assert await store.claim_outbox(clock.now()) == [], "claimed rows are leased"
    one, two, other = first
    await store.outbox_sent(other.id, message_ref="m1", now=clock.now())
    # 'one' fails and backs off; the dispatcher hands 'two' back so it cannot overtake 'one'.
    await store.outbox_failed(one.id, error="boom", retry_at=clock.now() + timedelta(seconds=10))
    await store.outbox_release([two.id])
    assert await store.claim_outbox(clock.now()) == [], "'two' waits behind 'one'"
    assert await store.next_outbox_due() == clock.now() + timedelta(seconds=10)
    clock.advance(seconds=10)
    retry = await store.claim_outbox(clock.now(), lease_seconds=30)
    assert [(i.message.text, i.attempts) for i in retry] == [("one", 1), ("two", 0)]
    clock.advance(seconds=31)  # the sender died: the lease runs out and another dispatcher takes over
    again = await store.claim_outbox(clock.now())
    assert [i.message.text for i in again] == ["one", "two"]
    await store.outbox_failed(again[0].id, error="gone", retry_at=None)
    await store.outbox_release([again[1].id])
    assert [i.message.text for i in await store.claim_outbox(clock.now())] == ["two"], "a dead row no longer blocks"


async def test_two_dispatchers_never_claim_the_same_row(database_url, clock):
    stores = [SqlStore(create_engine(database_url), clock) for _ in range(2)]
    try:
        async with stores[0].unit() as uow:
            for n in range(40):
                await uow.enqueue(_text(f"C{n}", f"m{n}"))
        claimed = await asyncio.gather(*(s.claim_outbox(clock.now(), limit=40) for s in stores for _ in range(2)))
        ids = [item.id for batch in claimed for item in batch]
        assert len(ids) == len(set(ids)) == 40
    finally:
        for store in stores:
            await store.close()


async def test_card_post_becomes_placement(store, clock):
    async with store.unit() as uow:
        ticket = await uow.add_ticket(_ticket())
        await uow.enqueue(Outgoing(OutgoingKind.CARD, THREAD.thread(None), ticket_id=ticket.id, language="zh-CN"))
    [item] = await store.claim_outbox(clock.now())
    await store.outbox_sent(item.id, message_ref="171.9", now=clock.now())
    async with store.unit() as uow:
        [placement] = await uow.placements(ticket.id)
        assert (placement.message_ref, placement.language) == ("171.9", "zh-CN")
        assert (await uow.find_ticket_by_thread(THREAD.thread("171.9"))).id == ticket.id
    await store.update_placement_ref(placement.id, "172.0")
    async with store.unit() as uow:
        assert (await uow.placements(ticket.id))[0].message_ref == "172.0"


async def test_round_robin_and_open_counts(store):
    async with store.unit() as uow:
        picks = [await uow.rotate("rr:support", ["a", "b", "c"]) for _ in range(4)]
        assert picks == ["a", "b", "c", "a"]
        assert await uow.rotate("rr:support", ["x", "y"]) == "x", "a changed roster starts over"
        await uow.add_ticket(_ticket(assignee="a", status=Status.IN_PROGRESS))
        await uow.add_ticket(_ticket(assignee="a", status=Status.CLOSED))
        assert await uow.open_counts(["a", "b"]) == {"a": 1, "b": 0}


async def test_migrations_match_the_models(database_url):
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            diff = await conn.run_sync(lambda sync: compare_metadata(MigrationContext.configure(sync), Base.metadata))
    finally:
        await engine.dispose()
    assert diff == []


@pytest.mark.parametrize("value", [datetime(2026, 1, 1, 8, 0)])
async def test_naive_datetimes_are_refused(store, value):
    with pytest.raises(Exception, match="naive"):
        async with store.unit() as uow:
            await uow.add_ticket(_ticket(first_response_at=value))
