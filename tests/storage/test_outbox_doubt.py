"""Which claims are in doubt (a send may already be out), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from bot.events import Conversation, ConversationKind, Platform
from bot.ports import Outgoing, OutgoingKind


def _text(to: str, text: str) -> Outgoing:
    return Outgoing(OutgoingKind.TEXT, Conversation(platform=Platform.SLACK, id=to, kind=ConversationKind.CHANNEL),
                    text=text)


async def test_a_row_claimed_again_after_its_lease_ran_out_is_in_doubt(store, clock):
    async with store.unit() as uow:
        await uow.enqueue_many([_text("C1", "one"), _text("C1", "two"), _text("C2", "other")])
    first = await store.claim_outbox(clock.now(), lease_seconds=30)
    assert [i.in_doubt for i in first] == [False, False, False]
    one, two, other = first
    await store.outbox_sent(other.id, message_ref="m1", now=clock.now())
    clock.advance(seconds=31)  # the dispatcher died holding 'one' and 'two'
    again = await store.claim_outbox(clock.now(), lease_seconds=30)
    assert [(i.message.text, i.in_doubt) for i in again] == [("one", True), ("two", True)]
    # 'one' could not be looked up yet (a rate limit): it stays in doubt; 'two', handed back, stays in doubt too.
    await store.outbox_failed(one.id, error="429", counts=False, in_doubt=True,
                              retry_at=clock.now() + timedelta(seconds=5))
    await store.outbox_release([two.id], in_doubt=[two.id])
    assert await store.claim_outbox(clock.now()) == [], "'two' still waits behind 'one'"
    assert await store.next_outbox_due() == clock.now() + timedelta(seconds=5)
    clock.advance(seconds=5)
    third = await store.claim_outbox(clock.now(), lease_seconds=30)
    assert [(i.message.text, i.attempts, i.in_doubt) for i in third] == [("one", 0, True), ("two", 0, True)]
    # A plain failure (the platform answered no) or a plain release ends the doubt.
    await store.outbox_failed(one.id, error="boom", retry_at=clock.now())
    await store.outbox_release([two.id])
    fourth = await store.claim_outbox(clock.now(), lease_seconds=30)
    assert [(i.message.text, i.attempts, i.in_doubt) for i in fourth] == [("one", 1, False), ("two", 0, False)]
