"""Notices folding into one still waiting (Outbox.enqueue_notices), on SQLite and PostgreSQL, race-free against a claim."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import update

from bot.events import Conversation, ConversationKind, Platform
from bot.ports import Outgoing, OutgoingKind, Urgency
from bot.subjects import Subject
from storage.db import is_sqlite
from storage.tables import OutboxRow

DM = Conversation(platform=Platform.SLACK, id="U0ALICE", kind=ConversationKind.DM)
T1, T2 = Subject.ticket(1), Subject.ticket(2)


def _notice(line: str, subject: Subject = T1, target: Conversation = DM, **fields) -> Outgoing:
    fields.setdefault("urgency", Urgency.NOTICE)
    return Outgoing(OutgoingKind.TEXT, target, text=line, subject=subject, **fields)


def _card(subject: Subject = T1) -> Outgoing:
    return Outgoing(OutgoingKind.CARD, DM, subject=subject, urgency=Urgency.NOTICE)


async def _notices(store, *messages: Outgoing) -> None:
    async with store.unit() as uow:
        await uow.enqueue_notices(list(messages))


async def _unsent(store) -> list[tuple[str, str | None]]:
    return [(r.kind, r.text) for r in await store.outbox_rows() if r.status != "sent"]


async def test_a_notice_joins_the_one_of_its_ticket_still_waiting_for_the_conversation(store, clock):
    await _notices(store, _notice("⏰ T-000001 due in 5 min"), _card())
    await _notices(store, _notice("🚨 T-000001 was due 1 min ago"), _card())
    assert await _unsent(store) == [("text", "⏰ T-000001 due in 5 min\n🚨 T-000001 was due 1 min ago"), ("card", None)]
    [text, card] = await store.claim_outbox(clock.now())
    assert text.message.text.count("\n") == 1 and card.message.kind is OutgoingKind.CARD


async def test_only_notices_of_one_ticket_to_one_conversation_fold(store, clock):
    await _notices(store, _notice("⏰ one"))
    thread = Conversation(platform=Platform.SLACK, id="U0ALICE", kind=ConversationKind.DM, thread_id="17.1")
    await _notices(store,
                   _notice("⏰ another ticket", subject=T2),
                   _notice("an answer to a person", urgency=Urgency.ANSWER),
                   _notice("only for Alice", ephemeral_user="U0ALICE"),
                   _notice("⏰ in a thread", target=thread),
                   _notice("⏰ 中文", language="zh-CN"))
    async with store.unit() as uow:
        await uow.enqueue(_notice("⏰ not through the sweep"))  # a plain enqueue never folds
    assert [t for _, t in await _unsent(store)] == ["⏰ one", "⏰ another ticket", "an answer to a person",
                                                    "only for Alice", "⏰ in a thread", "⏰ 中文",
                                                    "⏰ not through the sweep"]


async def test_a_claimed_notice_is_left_alone(store, clock):
    await _notices(store, _notice("⏰ one"), _card())
    await store.claim_outbox(clock.now(), per_conversation=1)  # the text is on its way; the card still waits
    await _notices(store, _notice("🚨 two"), _card())
    assert await _unsent(store) == [("text", "⏰ one"), ("card", None), ("text", "🚨 two")]


async def test_a_fold_and_a_claim_at_once_lose_no_line(store, clock, database_url):
    if is_sqlite(database_url):
        pytest.skip("SQLite's writers take turns: a fold and a claim cannot overlap")
    await _notices(store, _notice("⏰ one"))
    # A claim under way has locked the row (its UPDATE, not yet committed): a fold neither waits for it nor
    # changes it, but adds its own message.
    async with store.sessions() as claiming, claiming.begin():
        await claiming.execute(update(OutboxRow).values(status="sending", lease_until=clock.now() + timedelta(minutes=1)))
        await asyncio.wait_for(_notices(store, _notice("🚨 two")), 5)
    rows = await store.outbox_rows()
    assert [(r.status, r.text) for r in rows] == [("sending", "⏰ one"), ("pending", "🚨 two")]
    await store.outbox_sent(rows[0].id, message_ref="m1", now=clock.now())
    # A fold under way (not yet committed) makes a claim wait, and the claim then sends the folded text.
    async with store.unit() as uow:
        await uow.enqueue_notices([_notice("⏰ three")])
        claim = asyncio.create_task(store.claim_outbox(clock.now()))
        await asyncio.sleep(0.3)
        assert not claim.done(), "the claim waits for the fold's transaction"
    claimed = await asyncio.wait_for(claim, 5)
    assert [i.message.text for i in claimed] == ["🚨 two\n⏰ three"]
