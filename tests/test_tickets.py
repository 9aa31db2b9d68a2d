"""The lifecycle table against the specification, written out independently as a literal matrix."""

from __future__ import annotations

import pytest

from bot.tickets import (
    Action,
    IllegalTransition,
    Priority,
    Status,
    allowed_actions,
    next_status,
    parse_number,
)

N, T, I, WC, WL, R, C = (Status.NEW, Status.TRIAGED, Status.IN_PROGRESS, Status.WAITING_CUSTOMER,  # noqa: E741 (the matrix reads best with one letter per status)
                         Status.WAITING_COLLEAGUE, Status.RESOLVED, Status.CLOSED)
ACTIONS = ["claim", "assign", "priority", "category", "note", "reply", "wait_customer", "wait_colleague",
           "resume", "customer_message", "resolve", "close", "reopen"]
X = None  # not allowed

# One row per status; columns in ACTIONS order. This is the spec a reviewer reads, not a copy of the code.
EXPECTED = {
    #       claim assign priority category note reply wait_c wait_l resume cust_msg resolve close reopen
    N:     [I,    T,     T,       T,       N,   N,    X,     X,     X,     N,       R,      C,    X],
    T:     [I,    T,     T,       T,       T,   T,    WC,    WL,    X,     T,       R,      C,    X],
    I:     [I,    T,     I,       I,       I,   I,    WC,    WL,    X,     I,       R,      C,    X],
    WC:    [I,    WC,    WC,      WC,      WC,  WC,   X,     WL,    I,     I,       R,      C,    X],
    WL:    [I,    WL,    WL,      WL,      WL,  WL,   WC,    X,     I,     WL,      R,      C,    X],
    R:     [X,    X,     X,       X,       R,   R,    X,     X,     X,     T,       X,      C,    T],
    C:     [X,    X,     X,       X,       C,   X,    X,     X,     X,     X,       X,      X,    T],
}
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
