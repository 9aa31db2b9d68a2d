"""A request's lifecycle as a reviewer reads it: every status × action, and where it leads."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.requests import (
    IllegalRequestAction,
    Request,
    RequestAction,
    RequestStatus,
    apply_request,
    format_request_number,
    parse_request_number,
)

# One letter per status: the matrix below reads best that way.
O, A, ANS, D, C = (RequestStatus.OPEN, RequestStatus.ACCEPTED, RequestStatus.ANSWERED,  # noqa: E741
                   RequestStatus.DECLINED, RequestStatus.CANCELLED)
X = None
ACTIONS = [RequestAction.ACCEPT, RequestAction.ANSWER, RequestAction.DECLINE, RequestAction.HAND_OVER,
           RequestAction.CANCEL, RequestAction.MOVE]
EXPECTED = {
    #      accept answer decline hand_over cancel move
    O:   [A,     ANS,   D,      O,        C,     O],
    A:   [X,     ANS,   D,      O,        C,     A],
    ANS: [X,     X,     X,      X,        X,     X],
    D:   [X,     X,     X,      X,        X,     X],
    C:   [X,     X,     X,      X,        X,     X],
}
NOW = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
CASES = [(s, a, row[i]) for s, row in EXPECTED.items() for i, a in enumerate(ACTIONS)]


@pytest.mark.parametrize(("status", "action", "expected"), CASES, ids=[f"{s}-{a}" for s, a, _ in CASES])
def test_every_status_and_action(status, action, expected):
    request = Request(ticket_id=1, asker="alice", question="?", asked_person="zhao", status=status)
    if expected is None:
        with pytest.raises(IllegalRequestAction):
            apply_request(request, action, NOW)
        assert request.status is status, "a refused action changes nothing"
        return
    apply_request(request, action, NOW)
    assert request.status is expected
    settled = expected not in (O, A)
    assert (request.settled_at is not None) is settled
    assert request.next_due_at == (None if settled else NOW), "an open request is looked at again by the sweep"


def test_overdue_is_computed_for_open_requests_only():
    request = Request(ticket_id=1, asker="alice", question="?", asked_person="zhao", deadline=NOW)
    assert request.overdue(NOW)
    request.status = RequestStatus.ANSWERED
    assert not request.overdue(NOW)


@pytest.mark.parametrize(("token", "number"), [("R-000012", 12), ("r12", 12), ("R-12", 12), ("T-000012", None),
                                               ("R-", None), ("12", None)])
def test_request_numbers(token, number):
    assert parse_request_number(token) == number
    if number:
        assert format_request_number(number) == "R-000012"
