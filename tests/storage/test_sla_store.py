"""The SLA sweep's storage on SQLite and PostgreSQL: the one-query due read, bulk claims, bulk outbox rows."""

from __future__ import annotations

from datetime import timedelta

from bot.events import Conversation, ConversationKind, Platform
from bot.ports import Outgoing, OutgoingKind
from bot.subjects import Subject
from bot.tickets import Identity, Ticket
from storage.store import SqlStore

DM = Conversation(platform=Platform.SLACK, id="D1", kind=ConversationKind.DM)


def _ticket(title: str, next_due_at) -> Ticket:
    return Ticket(title=title, requester=Identity(Platform.SLACK, "U1"), source=DM, next_due_at=next_due_at)


def _text(to: str, text: str) -> Outgoing:
    return Outgoing(OutgoingKind.TEXT, Conversation(platform=Platform.SLACK, id=to), text=text)


async def _place_card(store: SqlStore, clock, ticket_id: int, ref: str) -> None:
    """Post a card of the ticket through the outbox, as the dispatcher does, so it becomes a placement."""
    async with store.unit() as uow:
        await uow.enqueue(Outgoing(OutgoingKind.CARD, DM.thread(None), subject=Subject.ticket(ticket_id), language="en"))
    [item] = await store.claim_outbox(clock.now())
    await store.outbox_sent(item.id, message_ref=ref, now=clock.now())


async def test_tickets_due_reads_tickets_fired_keys_and_cards_at_once(store, clock):
    now = clock.now()
    async with store.unit() as uow:
        later = await uow.add_ticket(_ticket("due second", now - timedelta(minutes=1)))
        first = await uow.add_ticket(_ticket("due first", now - timedelta(minutes=5)))
        await uow.add_ticket(_ticket("not yet", now + timedelta(minutes=1)))
        await uow.add_ticket(_ticket("no bookmark", None))
        await uow.claim_notifications([(first.subject, "respond:a:remind:50", True), (first.subject, "respond:a:remind:80", False)])
    await _place_card(store, clock, first.id, "m1")
    await _place_card(store, clock, first.id, "m2")
    async with store.unit() as uow:
        due = await uow.tickets_due(now, 10)
        assert [(t.id, t.title) for t, _fired, _cards in due] == [(first.id, "due first"), (later.id, "due second")]
        (ticket, fired, cards), (_, later_fired, later_cards) = due
        assert ticket == await uow.get_ticket(first.id), "the whole ticket, once, whatever its cards"
        assert fired == {"respond:a:remind:50", "respond:a:remind:80"}, "skipped ones count as fired too"
        assert cards == await uow.placements(first.subject) and [c.message_ref for c in cards] == ["m1", "m2"]
        assert (later_fired, later_cards) == (set(), [])
        assert [t.id for t, _f, _c in await uow.tickets_due(now, 1)] == [first.id], "the limit counts tickets"


async def test_claims_return_only_what_this_call_won(store, clock):
    async with store.unit() as uow:
        ticket = await uow.add_ticket(_ticket("t", clock.now()))
        assert await uow.claim_notifications([(ticket.subject, "a", True)]) == {(ticket.subject, "a")}
    async with store.unit() as uow:
        won = await uow.claim_notifications([(ticket.subject, "a", True), (ticket.subject, "b", True), (ticket.subject, "c", False)])
        assert won == {(ticket.subject, "b"), (ticket.subject, "c")}
        assert await uow.claim_notifications([]) == set()
        assert await uow.claim_notifications([(ticket.subject, "b", True)]) == set(), "claimed before: not won again"
        assert await uow.fired_notifications(ticket.subject) == {"a", "b", "c"}


async def test_enqueue_many_keeps_call_order_after_single_enqueues(store, clock):
    async with store.unit() as uow:
        await uow.enqueue(_text("C1", "one"))
        await uow.enqueue_many([_text("C1", "two"), _text("C2", "other"), _text("C1", "three")])
        await uow.enqueue(_text("C1", "four"))
        await uow.enqueue_many([])
    rows = await store.outbox_rows()
    assert [r.text for r in rows] == ["one", "two", "other", "three", "four"]
    assert {(r.status, r.attempts, r.next_attempt_at) for r in rows} == {("pending", 0, clock.now())}
    claimed = await store.claim_outbox(clock.now())
    assert [i.message for i in claimed] == [_text("C1", t) for t in ("one", "two")] + [_text("C2", "other")] + [
        _text("C1", t) for t in ("three", "four")]
