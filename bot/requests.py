"""Cross-department requests: a question on a ticket to a colleague or a department, with a deadline.

A request has its own small lifecycle table, like a ticket's: (status, action) → status. The ticket waits on its
colleagues while any request is open and goes back to work by itself when the last one is settled.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from bot.events import Conversation
from bot.subjects import Subject, SubjectKind

MAX_REQUEST_ID = 2**31 - 1  # the column's range: a larger number names no request


class RequestStatus(StrEnum):
    """Where a request stands; 'overdue' is computed from the deadline, never stored."""

    OPEN = "open"
    ACCEPTED = "accepted"
    ANSWERED = "answered"
    DECLINED = "declined"
    CANCELLED = "cancelled"


class RequestAction(StrEnum):
    """What can be done to a request."""

    ACCEPT = "accept"  # the colleague is on it
    ANSWER = "answer"
    DECLINE = "decline"
    HAND_OVER = "hand_over"  # the colleague passes it to someone else: it stays open, with a new person
    CANCEL = "cancel"  # the asker takes it back
    MOVE = "move"  # the asker moves the deadline


OPEN_REQUEST_STATUSES = frozenset({RequestStatus.OPEN, RequestStatus.ACCEPTED})

TRANSITIONS: dict[tuple[RequestStatus, RequestAction], RequestStatus] = {
    (RequestStatus.OPEN, RequestAction.ACCEPT): RequestStatus.ACCEPTED,
    **{(status, RequestAction.ANSWER): RequestStatus.ANSWERED for status in OPEN_REQUEST_STATUSES},
    **{(status, RequestAction.DECLINE): RequestStatus.DECLINED for status in OPEN_REQUEST_STATUSES},
    **{(status, RequestAction.HAND_OVER): RequestStatus.OPEN for status in OPEN_REQUEST_STATUSES},
    **{(status, RequestAction.CANCEL): RequestStatus.CANCELLED for status in OPEN_REQUEST_STATUSES},
    **{(status, RequestAction.MOVE): status for status in OPEN_REQUEST_STATUSES},
}
# Who may take each action: the asked colleague's side, or the asker's (leads and managers may do both).
COLLEAGUE_ACTIONS = frozenset({RequestAction.ACCEPT, RequestAction.ANSWER, RequestAction.DECLINE,
                               RequestAction.HAND_OVER})
ASKER_ACTIONS = frozenset({RequestAction.CANCEL, RequestAction.MOVE})


class IllegalRequestAction(Exception):
    """The action does not apply to the request in its status."""

    def __init__(self, status: RequestStatus, action: RequestAction):
        super().__init__(f"cannot {action.value} a request that is {status.value}")
        self.status, self.action = status, action


@dataclass
class Request:
    """A question on a ticket for a person (or a department's contact) to answer by a deadline."""

    ticket_id: int
    asker: str  # directory key of who asked
    question: str
    asked_person: str | None  # directory key of who must answer
    asked_department: str | None = None  # the department asked (its contact became asked_person)
    deadline: datetime | None = None
    status: RequestStatus = RequestStatus.OPEN
    answer: str | None = None
    answered_by: str | None = None
    # Where the asker asked (told there of the answer and of an overdue deadline).
    asked_from: Conversation | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    settled_at: datetime | None = None  # answered, declined or cancelled
    # The deadline sweep's bookmark: when this request should next be looked at (None: never by itself).
    next_due_at: datetime | None = None
    id: int | None = None
    version: int = 0
    fired: set[str] = field(default_factory=set)  # filled by the sweep's read only

    @property
    def number(self) -> str:
        """The request's human number, e.g. R-000012."""
        return format_request_number(self.id or 0)

    @property
    def subject(self) -> Subject:
        """The request as a subject (its card, its reminders)."""
        return Subject(SubjectKind.REQUEST, self.id or 0)

    @property
    def is_open(self) -> bool:
        """Open or accepted: someone still owes an answer."""
        return self.status in OPEN_REQUEST_STATUSES

    def overdue(self, now: datetime) -> bool:
        """Open past its deadline."""
        return self.is_open and self.deadline is not None and self.deadline <= now


def apply_request(request: Request, action: RequestAction, now: datetime) -> RequestStatus:
    """Move `request` by `action` (IllegalRequestAction when the table has no such step); returns the old status."""
    to = TRANSITIONS.get((request.status, action))
    if to is None:
        raise IllegalRequestAction(request.status, action)
    before = request.status
    request.status = to
    request.updated_at = now
    if to not in OPEN_REQUEST_STATUSES:
        request.settled_at = now
        request.next_due_at = None
    else:
        request.next_due_at = now  # the sweep re-plans its reminders (a moved deadline, a new person)
    return before


def format_request_number(request_id: int) -> str:
    """R-000012."""
    return f"R-{request_id:06d}"


_NUMBER = re.compile(r"^[Rr]-?0*(\d{1,12})$")


def parse_request_number(token: str) -> int | None:
    """12 from 'R-000012', 'r12' or 'R-12'; None when the token is not a request number."""
    match = _NUMBER.match(token.strip())
    return int(match.group(1)) if match else None
