"""The lifecycle table against the specification, written out independently as a literal matrix."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.events import Conversation, Platform
from bot.tickets import (
    Action,
    Identity,
    IllegalTransition,
    Priority,
    ReopenExpired,
    Status,
    Ticket,
    allowed_actions,
    apply,
    next_status,
    parse_number,
)
from tests.lifecycle_spec import ACTIONS, EXPECTED, WC, WL, C, I, N, R, T, X  # noqa: F401

CASES = [(status, Action(action), row[i]) for status, row in EXPECTED.items() for i, action in enumerate(ACTIONS)]


def test_matrix_covers_every_status_and_action():
    assert set(EXPECTED) == set(Status)
    assert set(ACTIONS) == {a.value for a in Action}


@pytest.mark.parametrize(("status", "action", "expected"), CASES, ids=[f"{s}-{a}" for s, a, _ in CASES])
def test_every_state_action_pair(status, action, expected):
    if expected is None:
        with pytest.raises(IllegalTransition) as info:
            next_status(status, action)
        assert info.value.status is status and action not in info.value.allowed
    else:
        assert next_status(status, action) is expected
        assert action in allowed_actions(status)


def test_closed_allows_only_reopen_and_notes():
    assert allowed_actions(Status.CLOSED) == [Action.NOTE, Action.REOPEN]


@pytest.mark.parametrize(("text", "expected"), [("T-000123", 123), ("t-5", 5), ("#7", 7), ("42", 42),
                                                ("T-0", None), ("abc", None), ("", None), ("T-", None)])
def test_parse_number(text, expected):
    assert parse_number(text) == expected


def test_priority_raised_stops_at_p0():
    assert Priority.P2.raised() is Priority.P1
    assert Priority.P0.raised() is Priority.P0


NOW = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)


def _ticket(status: Status = Status.NEW) -> Ticket:
    return Ticket(title="printer", requester=Identity(Platform.CONSOLE, "u"),
                  source=Conversation(platform=Platform.CONSOLE, id="u"), status=status)


def test_apply_moves_the_status_and_stamps_resolved_and_closed():
    ticket = _ticket(Status.IN_PROGRESS)
    assert apply(ticket, Action.RESOLVE, NOW) is Status.IN_PROGRESS
    assert (ticket.status, ticket.updated_at, ticket.resolved_at, ticket.closed_at) == (Status.RESOLVED, NOW, NOW, None)
    later = NOW + timedelta(hours=1)
    apply(ticket, Action.CLOSE, later)
    assert (ticket.status, ticket.resolved_at, ticket.closed_at) == (Status.CLOSED, NOW, later)


def test_apply_reopen_clears_the_stamps_within_the_window_only():
    ticket = _ticket(Status.IN_PROGRESS)
    apply(ticket, Action.CLOSE, NOW)
    with pytest.raises(ReopenExpired):
        apply(ticket, Action.REOPEN, NOW + timedelta(days=8), reopen_window=timedelta(days=7))
    assert ticket.status is Status.CLOSED and ticket.closed_at == NOW, "a refused reopen changes nothing"
    apply(ticket, Action.REOPEN, NOW + timedelta(days=6), reopen_window=timedelta(days=7))
    assert (ticket.status, ticket.resolved_at, ticket.closed_at) == (Status.TRIAGED, None, None)


def test_apply_refuses_an_illegal_move_without_touching_the_ticket():
    ticket = _ticket(Status.CLOSED)
    with pytest.raises(IllegalTransition):
        apply(ticket, Action.CLAIM, NOW)
    assert ticket.status is Status.CLOSED and ticket.updated_at is None


def test_apply_refreshes_the_deadlines_after_the_move():
    seen = []

    class Policy:
        def refresh(self, ticket, now):
            seen.append((ticket.status, now))

    apply(_ticket(), Action.CLAIM, NOW, sla=Policy())
    assert seen == [(Status.IN_PROGRESS, NOW)]
