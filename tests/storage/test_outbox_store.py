"""The outbox on SQLite and PostgreSQL: order per conversation, leases, retries, concurrent dispatchers, placements."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from bot.events import Conversation, ConversationKind, Platform
from bot.ports import Outgoing, OutgoingKind
from bot.subjects import Subject
from bot.tickets import Identity, Ticket
from storage.db import create_engine
from storage.store import SqlStore

THREAD = Conversation(platform=Platform.SLACK, id="C1", kind=ConversationKind.CHANNEL, thread_id="171.2")


def _ticket() -> Ticket:
    return Ticket(title="VPN", requester=Identity(Platform.SLACK, "U1"), source=THREAD.thread(None))


def _text(to: str, text: str) -> Outgoing:
    return Outgoing(OutgoingKind.TEXT, Conversation(platform=Platform.SLACK, id=to), text=text)


async def _enqueue(store: SqlStore, *messages: Outgoing) -> None:
    async with store.unit() as uow:
        for message in messages:
            await uow.enqueue(message)


async def test_outbox_item_carries_the_whole_message(store, clock):
    message = Outgoing(OutgoingKind.CARD_UPDATE, THREAD, text="t", subject=Subject.ticket(7), placement_id=3,
                       viewer_role="customer", language="zh-CN", ephemeral_user="U9")
    await _enqueue(store, message)
    assert await store.next_outbox_due() == clock.now()
    [item] = await store.claim_outbox(clock.now())
    assert (item.message, item.attempts) == (message, 0)


async def test_outbox_keeps_order_per_conversation_and_leases(store, clock):
    await _enqueue(store, _text("C1", "one"), _text("C1", "two"), _text("C2", "other"))
    first = await store.claim_outbox(clock.now(), lease_seconds=30)
    assert [i.message.text for i in first] == ["one", "two", "other"], "a conversation's run, in order"
    assert await store.claim_outbox(clock.now()) == [], "claimed rows are leased"
    assert await store.next_outbox_due() == clock.now() + timedelta(seconds=30), "when the leases run out"
    one, two, other = first
    sent_at = clock.now()
    await store.outbox_sent(other.id, message_ref="m1", now=sent_at)
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
    rows = {row.text: row for row in await store.outbox_rows()}
    assert (rows["one"].status, rows["one"].attempts, rows["one"].last_error) == ("dead", 2, "gone")
    assert (rows["other"].status, rows["other"].message_ref, rows["other"].sent_at) == ("sent", "m1", sent_at)


async def test_a_stalled_conversation_does_not_hide_the_others(store, clock):
    await _enqueue(store, *[_text("C1", f"c1-{n}") for n in range(6)], _text("C2", "c2"))
    [head] = await store.claim_outbox(clock.now(), limit=1)
    await store.outbox_failed(head.id, error="429", retry_at=clock.now() + timedelta(minutes=5))
    claimed = await store.claim_outbox(clock.now(), limit=3)
    assert [i.message.text for i in claimed] == ["c2"], "C1's backlog is held back, not in the way"
    await store.outbox_sent(claimed[0].id, message_ref=None, now=clock.now())
    assert await store.next_outbox_due() == clock.now() + timedelta(minutes=5)


async def test_concurrent_dispatchers_never_share_a_row_nor_split_a_conversation(database_url, clock):
    stores = [SqlStore(create_engine(database_url), clock) for _ in range(3)]
    try:
        # Warm connections up, so the claims below really overlap instead of queueing behind connects.
        await asyncio.gather(*(s.ping() for s in stores for _ in range(3)))
        await _enqueue(stores[0], *[_text(f"C{n % 3}", f"m{n}") for n in range(30)])
        # Different limits make one claimer stop inside a conversation's run while another reads past it.
        batches = await asyncio.gather(*(s.claim_outbox(clock.now(), limit=limit)
                                         for limit in (1, 2, 4) for s in stores))
        ids = [item.id for batch in batches for item in batch]
        assert len(ids) == len(set(ids)) and ids, "no row claimed twice"
        for c in range(3):
            holders = [b for b in batches if any(i.message.target.id == f"C{c}" for i in b)]
            assert len(holders) <= 1, f"C{c} split between dispatchers: {holders}"
            mine = [i.message.text for b in holders for i in b if i.message.target.id == f"C{c}"]
            assert mine == [f"m{n}" for n in range(30) if n % 3 == c][: len(mine)], "oldest first"
        later = await asyncio.gather(*(s.claim_outbox(clock.now() + timedelta(minutes=2), limit=100) for s in stores))
        assert sorted(i.id for b in later for i in b) == [r.id for r in await stores[0].outbox_rows()]
    finally:
        for store in stores:
            await store.close()


async def test_card_post_becomes_placement(store, clock):
    async with store.unit() as uow:
        ticket = await uow.add_ticket(_ticket())
        await uow.enqueue(Outgoing(OutgoingKind.CARD, THREAD.thread(None), subject=ticket.subject,
                                   viewer_role="customer", language="zh-CN"))
        await uow.enqueue(_text("C9", "not a card"))
    card, note = await store.claim_outbox(clock.now())
    await store.outbox_sent_many([(card.id, "171.9"), (note.id, "555.1")], now=clock.now())
    await store.outbox_sent(card.id, message_ref="171.9", now=clock.now())  # a repeat records nothing new
    async with store.unit() as uow:
        [placement] = await uow.placements(ticket.subject)
        assert (placement.subject, placement.target, placement.message_ref) == (ticket.subject, THREAD.thread(None), "171.9")
        assert (placement.viewer_role, placement.language) == ("customer", "zh-CN")
        assert (await uow.find_ticket_by_thread(THREAD.thread("171.9"))).id == ticket.id, "a thread under the card"
        assert await uow.placements_for([ticket.subject, Subject.ticket(999)]) == {ticket.subject: [placement]}
    await store.update_placement_ref(placement.id, "172.0")
    async with store.unit() as uow:
        assert (await uow.placements(ticket.subject))[0].message_ref == "172.0"
        assert (await uow.find_ticket_by_thread(THREAD.thread("172.0"))).id == ticket.id
    assert await store.next_outbox_due() is None
