"""The permission matrix: who may do what to whose ticket."""

from __future__ import annotations

import pytest

from bot.directory import Person, Role
from bot.events import Conversation, Platform
from bot.permissions import CREATE, LIST, VIEW, denial
from bot.tickets import Action, Identity, Ticket


def _person(key, role, ids=()):
    return Person(key=key, name=key, roles=frozenset({role}), identities={Platform.CONSOLE: tuple(ids)})


AGENT, OTHER_AGENT = _person("alice", Role.AGENT), _person("li", Role.AGENT)
LEAD, MANAGER = _person("lin", Role.LEAD), _person("zhou", Role.MANAGER)
COLLEAGUE = _person("zhao", Role.COLLEAGUE)
CUSTOMER, STRANGER = _person("c1", Role.CUSTOMER, ["cust1"]), _person("c2", Role.CUSTOMER, ["cust2"])


def _ticket(assignee=None):
    return Ticket(title="t", requester=Identity(Platform.CONSOLE, "cust1"),
                  source=Conversation(platform=Platform.CONSOLE, id="cust1"), assignee=assignee)


FREE, ALICES, LIS = _ticket(), _ticket("alice"), _ticket("li")
ALLOW, DENY = True, False

MATRIX = [
    # person, verb, ticket, new assignee, allowed?
    (AGENT, Action.CLAIM, FREE, None, ALLOW),
    (AGENT, Action.CLAIM, ALICES, None, ALLOW),
    (AGENT, Action.CLAIM, LIS, None, DENY),            # someone else's: only leads reassign
    (AGENT, Action.ASSIGN, ALICES, "li", ALLOW),       # handing on your own ticket
    (AGENT, Action.ASSIGN, LIS, "alice", DENY),
    (AGENT, Action.RESOLVE, LIS, None, ALLOW),
    (AGENT, Action.CLOSE, FREE, None, ALLOW),
    (AGENT, Action.NOTE, LIS, None, ALLOW),
    (LEAD, Action.ASSIGN, LIS, "alice", ALLOW),
    (LEAD, Action.CLAIM, LIS, None, ALLOW),
    (MANAGER, Action.ASSIGN, ALICES, "li", ALLOW),
    (COLLEAGUE, VIEW, FREE, None, ALLOW),
    (COLLEAGUE, Action.NOTE, FREE, None, ALLOW),
    (COLLEAGUE, Action.RESOLVE, FREE, None, DENY),
    (COLLEAGUE, Action.ASSIGN, FREE, "li", DENY),
    (COLLEAGUE, Action.REPLY, FREE, None, DENY),
    (CUSTOMER, CREATE, None, None, ALLOW),
    (CUSTOMER, VIEW, FREE, None, ALLOW),
    (CUSTOMER, LIST, None, None, ALLOW),
    (CUSTOMER, Action.REOPEN, FREE, None, ALLOW),
    (CUSTOMER, Action.CLAIM, FREE, None, DENY),
    (CUSTOMER, Action.NOTE, FREE, None, DENY),
    (CUSTOMER, Action.RESOLVE, FREE, None, DENY),
    (STRANGER, VIEW, FREE, None, DENY),                # not their ticket
    (STRANGER, Action.REOPEN, FREE, None, DENY),
]


@pytest.mark.parametrize(("person", "verb", "ticket", "new_assignee", "allowed"), MATRIX)
def test_permission_matrix(person, verb, ticket, new_assignee, allowed):
    reason = denial(person, verb, ticket, new_assignee=new_assignee)
    assert (reason is None) is allowed, reason
