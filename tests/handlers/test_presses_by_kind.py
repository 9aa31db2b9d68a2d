"""A press is routed by the kind of subject its control names: a press on another kind never acts on a ticket."""

from __future__ import annotations

from bot.events import ButtonPressed
from bot.subjects import Subject, SubjectKind
from bot.tickets import Status
from cards import actions
from storage.tables import CardPlacementRow
from tests.harness import Harness


async def _open_ticket(bot: Harness):
    await bot.say("wang-store", "我的订单页面打不开")
    return bot.cards("triage")[0]


async def test_a_press_naming_a_request_never_claims_the_ticket_of_the_same_number(store, clock):
    bot = Harness(store, clock)
    card = await _open_ticket(bot)
    before = await bot.ticket()
    forged = ButtonPressed(delivery_id="p1", actor=bot.actor("alice"), conversation=card.target,
                           action=actions.encode(Subject(SubjectKind.REQUEST, before.id), "claim", before.version),
                           message_ref=card.ref)
    await bot.router.receive(forged)
    await bot.dispatcher.drain()
    after = await bot.ticket()
    assert after.status is before.status is not Status.IN_PROGRESS and after.version == before.version, \
        "ticket 1 is untouched by a press on request 1"
    assert bot.last_text("triage", visible_to="alice") == "That choice is not valid."


async def test_a_choice_of_another_kind_beside_a_ticket_button_is_refused_whole(store, clock):
    bot = Harness(store, clock)
    card = await _open_ticket(bot)
    ticket = await bot.ticket()
    claim = actions.encode(ticket.subject, "claim", ticket.version)
    priority = actions.encode(Subject(SubjectKind.DIGEST, ticket.id), "priority", ticket.version)
    mixed = ButtonPressed(delivery_id="p2", actor=bot.actor("alice"), conversation=card.target, action=claim,
                          choices=[(priority, "P0")], message_ref=card.ref)
    await bot.router.receive(mixed)
    await bot.dispatcher.drain()
    after = await bot.ticket()
    assert (after.priority, after.status, after.version) == (ticket.priority, ticket.status, ticket.version)


async def test_a_ticket_press_still_works(store, clock):
    bot = Harness(store, clock)
    card = await _open_ticket(bot)
    await bot.press("alice", card, "claim")
    assert (await bot.ticket()).status is Status.IN_PROGRESS


async def test_a_reply_under_a_card_of_another_kind_is_not_a_note_on_the_ticket(store, clock):
    bot = Harness(store, clock)
    card = await _open_ticket(bot)
    async with store.unit() as uow:
        placements = await uow.placements(Subject.ticket(1))
        # The same message now anchors a card of another kind (as a request's card would).
        await uow.session.execute(CardPlacementRow.__table__.update().values(subject_kind=SubjectKind.REQUEST.value))
    assert placements, "the triage card was placed"
    before = len(await bot.timeline())
    await bot.say("alice", "looks like the CDN", card.target.thread(card.ref))
    assert len(await bot.timeline()) == before, "no note lands on ticket 1"
