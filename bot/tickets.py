"""The ticket domain: fields, the lifecycle transition table, and timeline entries."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

from bot.events import Conversation, Platform
from bot.subjects import Subject


class Status(StrEnum):
    """Where a ticket stands in its lifecycle."""

    NEW = "new"
    TRIAGED = "triaged"
    IN_PROGRESS = "in_progress"
    WAITING_CUSTOMER = "waiting_customer"
    WAITING_COLLEAGUE = "waiting_colleague"
    RESOLVED = "resolved"
    CLOSED = "closed"


OPEN_STATUSES = frozenset(
    {Status.NEW, Status.TRIAGED, Status.IN_PROGRESS, Status.WAITING_CUSTOMER, Status.WAITING_COLLEAGUE}
)


class Priority(StrEnum):
    """Urgency; P0 is the most urgent."""

    P0 = "P0"
    P1 = "P1"
    P2 = "P2"
    P3 = "P3"

    def raised(self) -> Priority:
        """One step more urgent (P0 stays P0)."""
        order = list(Priority)
        return order[max(order.index(self) - 1, 0)]


class Impact(StrEnum):
    """How many people the problem touches."""

    ONE_USER = "one_user"
    DEPARTMENT = "department"
    COMPANY = "company"


class Tier(StrEnum):
    """Customer tier; VIP customers get tighter treatment."""

    VIP = "vip"
    NORMAL = "normal"


class Action(StrEnum):
    """Everything that can be done to an existing ticket."""

    CLAIM = "claim"
    ASSIGN = "assign"
    PRIORITY = "priority"
    CATEGORY = "category"
    NOTE = "note"
    REPLY = "reply"
    WAIT_CUSTOMER = "wait_customer"
    WAIT_COLLEAGUE = "wait_colleague"
    RESUME = "resume"
    CUSTOMER_MESSAGE = "customer_message"
    RESOLVE = "resolve"
    CLOSE = "close"
    REOPEN = "reopen"
    ASK = "ask"  # ask a colleague (a cross-department request): the ticket waits on colleagues


S, A = Status, Action
_WORKING = (S.TRIAGED, S.IN_PROGRESS, S.WAITING_CUSTOMER, S.WAITING_COLLEAGUE)


def _build_transitions() -> dict[tuple[Status, Action], Status]:
    table: dict[tuple[Status, Action], Status] = {
        # Any triage act on a new ticket makes it triaged; claiming starts the work.
        (S.NEW, A.ASSIGN): S.TRIAGED,
        (S.NEW, A.PRIORITY): S.TRIAGED,
        (S.NEW, A.CATEGORY): S.TRIAGED,
        (S.NEW, A.CLAIM): S.IN_PROGRESS,
        (S.NEW, A.NOTE): S.NEW,
        (S.NEW, A.REPLY): S.NEW,
        (S.NEW, A.CUSTOMER_MESSAGE): S.NEW,
        (S.NEW, A.RESOLVE): S.RESOLVED,
        (S.NEW, A.CLOSE): S.CLOSED,
        # A customer's answer, or an agent saying so, ends a wait.
        (S.WAITING_CUSTOMER, A.CUSTOMER_MESSAGE): S.IN_PROGRESS,
        (S.WAITING_CUSTOMER, A.RESUME): S.IN_PROGRESS,
        (S.WAITING_COLLEAGUE, A.RESUME): S.IN_PROGRESS,
        (S.WAITING_COLLEAGUE, A.CUSTOMER_MESSAGE): S.WAITING_COLLEAGUE,
        (S.TRIAGED, A.CUSTOMER_MESSAGE): S.TRIAGED,
        (S.IN_PROGRESS, A.CUSTOMER_MESSAGE): S.IN_PROGRESS,
        # A resolved ticket can still be closed, reopened, or revived by the customer writing again.
        (S.RESOLVED, A.CLOSE): S.CLOSED,
        (S.RESOLVED, A.REOPEN): S.TRIAGED,
        (S.RESOLVED, A.CUSTOMER_MESSAGE): S.TRIAGED,
        (S.RESOLVED, A.NOTE): S.RESOLVED,
        (S.RESOLVED, A.REPLY): S.RESOLVED,
        # Closed is final but for a reopen within the configured window (checked by the handler).
        (S.CLOSED, A.REOPEN): S.TRIAGED,
        (S.CLOSED, A.NOTE): S.CLOSED,
    }
    for status in _WORKING:
        table[(status, A.CLAIM)] = S.IN_PROGRESS
        # Handing a ticket to someone else puts it back in their queue until they start.
        table.setdefault((status, A.ASSIGN), S.TRIAGED if status in (S.TRIAGED, S.IN_PROGRESS) else status)
        table[(status, A.PRIORITY)] = status
        table[(status, A.CATEGORY)] = status
        table[(status, A.NOTE)] = status
        table[(status, A.REPLY)] = status
        table[(status, A.RESOLVE)] = S.RESOLVED
        table[(status, A.CLOSE)] = S.CLOSED
        if status not in (S.WAITING_CUSTOMER,):
            table[(status, A.WAIT_CUSTOMER)] = S.WAITING_CUSTOMER
        if status not in (S.WAITING_COLLEAGUE,):
            table[(status, A.WAIT_COLLEAGUE)] = S.WAITING_COLLEAGUE
    for status in (S.NEW, *_WORKING):
        table[(status, A.ASK)] = S.WAITING_COLLEAGUE
    return table


TRANSITIONS: dict[tuple[Status, Action], Status] = _build_transitions()


class IllegalTransition(Exception):
    """An action that the lifecycle table does not allow in the ticket's current status."""

    def __init__(self, status: Status, action: Action):
        super().__init__(f"{action} not allowed in {status}")
        self.status = status
        self.action = action
        self.allowed = allowed_actions(status)


def allowed_actions(status: Status) -> list[Action]:
    """Actions the lifecycle allows from `status`, in a stable order."""
    return [action for action in Action if (status, action) in TRANSITIONS]


def next_status(status: Status, action: Action) -> Status:
    """The status after `action`, or IllegalTransition when the table has no such move."""
    try:
        return TRANSITIONS[(status, action)]
    except KeyError:
        raise IllegalTransition(status, action) from None


class ReopenExpired(Exception):
    """A closed ticket whose reopen window has passed: a new ticket is needed instead."""

    def __init__(self, window: timedelta):
        super().__init__(f"closed more than {window} ago")
        self.window = window


class Deadlines(Protocol):
    """What apply() needs of an SLA policy (bot.sla.SlaPolicy): recompute the stored promises."""

    def refresh(self, ticket: Ticket, now: datetime) -> None: ...


def apply(ticket: Ticket, action: Action, now: datetime, *, reopen_window: timedelta | None = None,
          sla: Deadlines | None = None) -> Status:
    """Move `ticket` by `action` with every side effect of the transition; returns the status it had before.

    Raises IllegalTransition (the table has no such move) or ReopenExpired (closed longer than `reopen_window`);
    the ticket is unchanged then.
    """
    status = next_status(ticket.status, action)
    if action is Action.REOPEN and ticket.status is Status.CLOSED and reopen_window is not None:
        if ticket.closed_at and now - ticket.closed_at > reopen_window:
            raise ReopenExpired(reopen_window)
    before = ticket.status
    ticket.status = status
    ticket.updated_at = now
    if status is Status.RESOLVED and ticket.resolved_at is None:
        ticket.resolved_at = now
    if status is Status.CLOSED:
        ticket.closed_at = now
    if action is Action.REOPEN:
        ticket.resolved_at = ticket.closed_at = None
    if sla is not None:
        sla.refresh(ticket, now)
    return before


@dataclass(frozen=True)
class Identity:
    """A person on one platform."""

    platform: Platform
    user_id: str


@dataclass
class Ticket:
    """A support ticket as the core sees it (storage maps it to rows)."""

    title: str
    requester: Identity
    source: Conversation
    description: str = ""
    status: Status = Status.NEW
    priority: Priority = Priority.P2
    category: str = "other"
    product_module: str | None = None
    impact: Impact = Impact.ONE_USER
    customer_name: str = ""
    customer_tier: Tier = Tier.NORMAL
    # The language to answer the customer in (theirs if known, else what they wrote in).
    customer_language: str | None = None
    assignee: str | None = None
    department: str | None = None
    tags: list[str] = field(default_factory=list)
    created_at: datetime | None = None
    updated_at: datetime | None = None
    first_response_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    # Where the customer last spoke, so replies reach them (a DM, or a thread in a shared channel).
    customer_conversation: Conversation | None = None
    # The agents' discussion thread for this ticket (e.g. under the triage card), if any.
    agent_thread: Conversation | None = None
    last_customer_message_at: datetime | None = None
    # SLA: stored promises (bot.sla computes them), the pauses, and when the sweep should look next.
    respond_by: datetime | None = None
    resolve_by: datetime | None = None
    sla_paused_at: datetime | None = None
    sla_pauses: list[tuple[datetime, datetime]] = field(default_factory=list)
    next_due_at: datetime | None = None
    # The breach someone said "I'm on it" to (its notification key), which stops the next levels.
    escalation_acked: str | None = None
    # Outcome facts for the managers' figures (bot.kpis.record_outcomes): the response promise kept after the
    # answer, first response and resolution times in seconds on the SLA target's clock.
    response_due_at: datetime | None = None
    frt_seconds: int | None = None
    ttr_seconds: int | None = None
    id: int | None = None
    version: int = 0

    @property
    def number(self) -> str:
        """The human ticket number, e.g. T-000123."""
        return format_number(self.id or 0)

    @property
    def subject(self) -> Subject:
        """The ticket as a subject of cards and notifications."""
        return Subject.ticket(self.id or 0)

    @property
    def awaits_answer(self) -> bool:
        """True while a customer who wrote in has not heard back from us yet (no reply they could see)."""
        return self.customer_conversation is not None and self.first_response_at is None

    @property
    def is_open(self) -> bool:
        """True until the ticket is resolved or closed."""
        return self.status in OPEN_STATUSES


# The largest id a ticket can have: the databases store ids as 32-bit integers, so a bigger number names none.
MAX_TICKET_ID = 2**31 - 1


def format_number(ticket_id: int) -> str:
    """T-000123 for id 123."""
    return f"T-{ticket_id:06d}"


def parse_number(text: str) -> int | None:
    """The id in 'T-000123', 't-123', '#123' or '123'; None when it is not a ticket number."""
    token = text.strip().upper().lstrip("#")
    if token.startswith("T-"):
        token = token[2:]
    return int(token) if token.isdigit() and int(token) > 0 else None


class Visibility(StrEnum):
    """Who may see a timeline entry."""

    PUBLIC = "public"  # the customer saw or wrote it
    INTERNAL = "internal"  # agents and colleagues only


class TimelineKind(StrEnum):
    """What a timeline line records (the stored value)."""

    CREATED = "created"
    ROUTED = "routed"
    ASSIGNED = "assigned"
    STATUS = "status"
    PRIORITY = "priority"
    CATEGORY = "category"
    NOTE = "note"
    REPLY = "reply"
    CUSTOMER_MESSAGE = "customer_message"
    ESCALATION_ACK = "escalation_ack"
    KB_OFFER = "kb_offer"  # knowledge-base articles offered to the customer (self-service): detail names them
    LINKED = "linked"  # another ticket of the same conversation: `after` names it, `detail` says which way
    REQUEST = "request"  # a cross-department request asked, answered, declined …: `after` is its number
    CSAT = "csat"  # the customer's survey answer: `detail` has the score (or not solved), `text` the comment


@dataclass(frozen=True)
class TimelineEntry:
    """One append-only line of a ticket's history: who did what, when, where, before → after."""

    ticket_id: int
    kind: TimelineKind
    actor: str
    platform: Platform
    at: datetime
    before: str | None = None
    after: str | None = None
    text: str | None = None  # what a person wrote (a note, a reply, a reason given); never words the bot made up
    visibility: Visibility = Visibility.INTERNAL
    id: int | None = None
    # Why it happened, as data (bot/reasons.py: how an assignment came about, which rule routed, a link's direction).
    detail: dict[str, str] | None = None
