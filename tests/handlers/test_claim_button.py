"""Claim makes sense: the card offers it only where it would change something."""

from __future__ import annotations

import pytest

from bot.config import load_config
from bot.directory import Directory
from bot.events import Conversation, ConversationKind, Platform
from bot.i18n import translator
from bot.tickets import Action, Identity, Status, Ticket
from cards.ticket import CUSTOMER_VIEW, STAFF_VIEW, ticket_card
from tests.harness import EXAMPLE_CONFIG, Harness


def _verbs(card) -> set[str]:
    return {control.action.split(":")[2] for control in card.actions}


async def test_after_claiming_ones_own_ticket_the_card_offers_no_claim(store, clock):
    bot = Harness(store, clock)
    await bot.say("wang-store", "我的订单页面打不开")
    card = bot.cards("triage")[0]
    assert (await bot.ticket()).assignee == "alice" and "claim" in _verbs(card.card)
    await bot.press("alice", card, "claim")
    ticket = await bot.ticket()
    assert ticket.status is Status.IN_PROGRESS and ticket.assignee == "alice"
    assert "claim" not in _verbs(card.card), "claiming again would change nothing"
    assert [(e.before, e.after) for e in await bot.timeline() if e.kind == "assigned"] == [(None, "alice")], \
        "claiming one's own ticket records the status, not 'assigned alice → alice'"


def _ticket(status: Status, assignee: str | None) -> Ticket:
    return Ticket(title="t", requester=Identity(Platform.CONSOLE, "wang-store"),
                  source=Conversation(platform=Platform.CONSOLE, id="wang-store", kind=ConversationKind.DM),
                  status=status, assignee=assignee, id=1)


@pytest.mark.parametrize(("status", "assignee", "offered"), [
    (Status.NEW, None, True),
    (Status.TRIAGED, "alice", True),  # intake assigned it: claiming starts the work
    (Status.TRIAGED, None, True),
    (Status.IN_PROGRESS, "alice", False),  # being worked by its owner: nothing to claim
    (Status.IN_PROGRESS, None, True),  # nobody's: someone may take it
    (Status.WAITING_CUSTOMER, "alice", True),  # claiming resumes the work
    (Status.RESOLVED, "alice", False),  # the lifecycle does not allow it
    (Status.CLOSED, None, False),
])
def test_claim_is_offered_only_where_it_changes_something(status, assignee, offered):
    config = load_config(EXAMPLE_CONFIG)
    card = ticket_card(_ticket(status, assignee), viewer=STAFF_VIEW, directory=Directory(config),
                       categories=config.categories, t=translator("en"))
    assert ("claim" in _verbs(card)) is offered
    customer = ticket_card(_ticket(status, assignee), viewer=CUSTOMER_VIEW, directory=Directory(config),
                           categories=config.categories, t=translator("en"))
    assert Action.CLAIM.value not in _verbs(customer)
