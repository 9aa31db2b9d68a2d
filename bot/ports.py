"""Protocols the handlers depend on: the store, the messengers, the clock."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import IntEnum, StrEnum
from typing import TYPE_CHECKING, Any, Protocol

from bot.events import Conversation, Platform
from bot.subjects import Subject, Viewer
from bot.tickets import Priority, Status, Ticket, TimelineEntry
from cards.model import Card, Image

if TYPE_CHECKING:  # only for the Context's field types: these modules import the ports' neighbours
    from bot.config import AppConfig
    from bot.directory import Directory
    from bot.sla import SlaPolicy


class Clock(Protocol):
    """Tells the time; tests inject a fake one."""

    def now(self) -> datetime: ...


class SystemClock:
    """The real clock, in UTC."""

    def now(self) -> datetime:
        """Now, timezone-aware UTC."""
        return datetime.now(UTC)


class Urgency(IntEnum):
    """Which messages the outbox sends first when there is a backlog (lower first)."""

    ANSWER = 0  # a person waits for it: replies, confirmations, new cards
    REFRESH = 1  # a card already shown catches up with a change
    NOTICE = 2  # told, not asked for: reminders, escalations, "assigned to you"; consecutive ones fold into one


class OutgoingKind(StrEnum):
    """What an outbox row asks the dispatcher to do."""

    TEXT = "text"  # post `text`
    CARD = "card"  # post a fresh card of `ticket_id` and remember where it went
    CARD_UPDATE = "card_update"  # re-render the card at `placement_id` in place


@dataclass(frozen=True)
class Outgoing:
    """A message to send, written to the outbox in the same transaction as the change that causes it."""

    kind: OutgoingKind
    target: Conversation
    text: str | None = None
    subject: Subject | None = None  # whose card a CARD / CARD_UPDATE shows
    placement_id: int | None = None
    # Who the card is rendered for (role decides which buttons show) and in which language.
    viewer_role: str = Viewer.STAFF
    language: str = "en"
    # Shown only to this user id where the platform can (Slack ephemeral); a DM elsewhere.
    ephemeral_user: str | None = None
    urgency: Urgency | None = None  # None: by kind (a card refresh is REFRESH, the rest ANSWER)

    def __post_init__(self):
        if self.urgency is None:
            urgency = Urgency.REFRESH if self.kind is OutgoingKind.CARD_UPDATE else Urgency.ANSWER
            object.__setattr__(self, "urgency", urgency)


@dataclass(frozen=True)
class CardPlacement:
    """One place a subject's card was posted, so every copy can be re-rendered on change.

    `message_ref` is the platform's reference: the message's name, optionally followed by '|' and parts that
    change over time (WeCom: 'task_id|response_code|member').
    """

    id: int
    subject: Subject
    target: Conversation
    message_ref: str
    viewer_role: str
    language: str


@dataclass(frozen=True)
class OutboxItem:
    """An outbox row claimed by the dispatcher."""

    id: int
    message: Outgoing
    attempts: int
    created_at: datetime | None = None  # when it was written: the wall-clock budget for retries counts from here
    # A send of it may already have reached the platform: it was 'sending' when claimed (the previous claim's lease
    # ran out: a crash or a stall between the send and its "sent" mark), or an attempt ended without a clear answer.
    in_doubt: bool = False


@dataclass(frozen=True)
class TicketQuery:
    """A filter for listing tickets; None means 'any'."""

    statuses: frozenset[Status] | None = None
    assignee: str | None = None
    unassigned: bool = False
    requester_platform: Platform | None = None
    requester_user_id: str | None = None
    department: str | None = None
    limit: int = 50


class AlreadyProcessed(Exception):
    """A delivery was processed by someone else first (a replay, another replica): this attempt rolls back."""


class StaleTicket(Exception):
    """The ticket changed since it was read (optimistic concurrency); `current` is the fresh copy."""

    def __init__(self, current: Ticket, changed_by: str | None):
        super().__init__(f"{current.number} changed by {changed_by}")
        self.current = current
        self.changed_by = changed_by


class SendError(Exception):
    """A messenger could not deliver; `retry_after` seconds when the platform said when to retry.

    `sent_some`: the message goes out in parts and some went before this failure (a retry must not repeat them
    where the platform can be asked, see SentLookup).
    """

    def __init__(self, message: str, *, retry_after: float | None = None, permanent: bool = False):
        super().__init__(message)
        self.retry_after = retry_after
        self.permanent = permanent
        self.sent_some = False


class PacingDelay(SendError):
    """Not a failure: the platform's rate limit says wait `retry_after` seconds (no attempt is counted)."""

    def __init__(self, message: str, *, retry_after: float):
        super().__init__(message, retry_after=retry_after)


@dataclass(frozen=True)
class Pacing:
    """A platform's sending limits, declared by its messenger and kept by the dispatcher.

    `per_conversation` is the least gap in seconds between two messages to one conversation (Slack ~1 s per
    channel); `in_flight` bounds the sends under way at once to the platform. Limits a platform counts in
    windows of its own (WeCom's 30 per member per minute) the messenger enforces by raising PacingDelay.
    """

    per_conversation: float = 0.0
    in_flight: int = 8


class Messenger(Protocol):
    """Sends neutral messages and cards to one platform."""

    platform: Platform
    pacing: Pacing

    async def post(
        self, target: Conversation, *, text: str | None = None, card: Card | None = None,
        ephemeral_user: str | None = None,
    ) -> str | None:
        """Post text or a card; return the platform's reference to the new message (if any)."""
        ...

    async def update(self, target: Conversation, message_ref: str, card: Card) -> str | None:
        """Replace the card at `message_ref`; return a new reference if the platform had to post anew."""
        ...

    async def upload_image(self, target: Conversation, image: Image) -> str:
        """Upload `image.data` for use in a card sent to `target`; returns the reference renderers put in the card."""
        ...


@dataclass(frozen=True)
class Found:
    """What a lookup found of an earlier send of one outbox row: the reference of its first part there, and which
    of its parts (numbered from 1, of `of`) went out — a long text goes out in several messages."""

    ref: str
    parts: frozenset[int] = frozenset({1})
    of: int = 1

    @property
    def whole(self) -> bool:
        """True when every part is there: nothing is left to send."""
        return set(range(1, self.of + 1)) <= self.parts


class SentLookup(Protocol):
    """Optional beside Messenger: a platform that can be asked whether a message was already sent.

    Such a messenger's `post` also takes `outbox_id=` and tags the message (each of its parts) with it, so that
    `find_sent` can look it up again after a crash between the send and its "sent" mark; and `found=` (what a
    lookup found of a message that went out only in part), so that it sends only the parts still missing.
    A messenger without it is sent to at least once.
    """

    async def find_sent(self, target: Conversation, outbox_id: int, *, since: datetime | None = None) -> Found | None:
        """What was posted to `target` for outbox row `outbox_id` (after `since`), or None when nothing was."""
        ...


class MessageSink(Protocol):
    """Where handlers put what to send: a unit of work (sent after commit), or a batch collecting for one."""

    async def enqueue(self, message: Outgoing) -> None:
        """Add a message to the outbox (sent after commit by the dispatcher)."""
        ...


class Tickets(Protocol):
    """Reading and writing tickets inside a transaction."""

    async def add_ticket(self, ticket: Ticket) -> Ticket: ...
    async def get_ticket(self, ticket_id: int) -> Ticket | None: ...
    async def get_tickets(self, ticket_ids: Sequence[int]) -> dict[int, Ticket]:
        """Several tickets by id in one query (missing ones are absent)."""
        ...
    async def save_ticket(self, ticket: Ticket) -> Ticket:
        """Write `ticket` if its version is still current (bumping it), else raise StaleTicket."""
        ...
    async def list_tickets(self, query: TicketQuery) -> list[Ticket]: ...
    async def find_open_ticket(self, *, platform: Platform, user_id: str, since: datetime) -> Ticket | None:
        """The requester's most recent open ticket with activity since `since` (or waiting on them)."""
        ...
    async def find_closed_ticket(self, *, platform: Platform, user_id: str, since: datetime) -> Ticket | None:
        """The requester's most recently closed ticket, if it was closed since `since`."""
        ...
    async def find_subject_by_thread(self, conversation: Conversation) -> Subject | None:
        """Whose thread this is: the subject of the card it is under, else the ticket it belongs to."""
        ...
    async def find_ticket_by_thread(self, conversation: Conversation) -> Ticket | None:
        """The ticket whose agent thread or customer conversation is `conversation` (thread-exact)."""
        ...
    async def open_counts(self, assignees: Sequence[str]) -> dict[str, int]:
        """Open tickets per assignee (for least-loaded assignment)."""
        ...
    async def rotate(self, key: str, candidates: Sequence[str]) -> str:
        """Round-robin: the candidate after the one chosen last time for `key`."""
        ...


class Timeline(Protocol):
    """A ticket's append-only history."""

    async def append_timeline(self, entry: TimelineEntry) -> None: ...
    async def timeline(self, ticket_id: int) -> list[TimelineEntry]: ...
    async def recent_timeline(self, ticket_id: int, limit: int, *, public_only: bool = False) -> list[TimelineEntry]:
        """The ticket's last `limit` history entries (public ones only when asked), oldest first."""
        ...


class TicketQueries(Protocol):
    """Queries that stay fast at a million tickets: indexed top-N pages and counts, aggregates for figures."""

    async def ticket_page(self, query: TicketQuery, *, priority: Priority | None = None,
                          offset: int = 0) -> list[Ticket]:
        """`query.limit` tickets of list_tickets after the first `offset` (of one priority when given)."""
        ...
    async def count_tickets(self, query: TicketQuery, *, priority: Priority | None = None,
                            cap: int | None = None) -> int:
        """How many tickets match `query` (ignoring its limit); counting stops at `cap` when given."""
        ...
    async def ticket_counts(self) -> tuple[dict[Status, int], dict[Priority, int]]:
        """Tickets per status, and open tickets per priority (aggregates, no rows read)."""
        ...
    async def breaching_tickets(self, now: datetime, *, limit: int, offset: int = 0,
                                priority: Priority | None = None) -> list[Ticket]:
        """Open tickets breached or with under a fifth of their window left, least time left first."""
        ...
    async def count_breaching(self, now: datetime, *, cap: int | None = None,
                              priority: Priority | None = None) -> int:
        """How many open tickets are breached or at risk (counting stops at `cap`)."""
        ...


class Outbox(MessageSink, Protocol):
    """The outbox side of a transaction."""

    async def enqueue_many(self, messages: Sequence[Outgoing]) -> None:
        """enqueue for several messages at once, in order (one statement)."""
        ...

    async def enqueue_notices(self, messages: Sequence[Outgoing]) -> None:
        """enqueue_many for the deadline sweep: a notice (NOTICE urgency, plain text or a fresh card, of a subject)
        joins one of the same subject, kind and reader still unsent and unclaimed in its conversation instead of
        adding a message; the rest are added in order."""
        ...


class Placements(Protocol):
    """Where subjects' cards were posted."""

    async def placements(self, subject: Subject) -> list[CardPlacement]: ...
    async def placements_for(self, subjects: Sequence[Subject]) -> dict[Subject, list[CardPlacement]]: ...


class NotificationClaims(Protocol):
    """Exactly-once bookkeeping of the deadline sweep, keyed by subject."""

    async def claim_notifications(self, claims: Sequence[tuple[Subject, str, bool]]) -> set[tuple[Subject, str]]:
        """Claim many (subject, key, sent) at once; returns the (subject, key) pairs won."""
        ...
    async def fired_notifications(self, subject: Subject) -> set[str]: ...


class TicketBookmarks(Protocol):
    """The SLA provider's indexed bookmark on tickets."""

    async def tickets_due(self, now: datetime, limit: int) -> list[tuple[Ticket, set[str], list[CardPlacement]]]:
        """Tickets whose bookmark has come, each with its fired notification keys and card placements."""
        ...
    async def set_ticket_bookmarks(self, bookmarks: Sequence[tuple[Ticket, datetime | None]]) -> None: ...


class UnitOfWork(Tickets, TicketQueries, Timeline, Outbox, Placements, NotificationClaims, TicketBookmarks, Protocol):
    """One transaction: everything done through it commits together or not at all."""

    async def mark_delivery_done(self, platform: Platform, delivery_id: str) -> None: ...


class Units(Protocol):
    """Opens transactions."""

    def unit(self) -> AbstractAsyncContextManager[UnitOfWork]: ...

    def snapshot(self) -> AbstractAsyncContextManager[UnitOfWork]:
        """A unit of work for reading only: it never waits for, or holds up, a writer."""
        ...


class Inbox(Protocol):
    """Deliveries recorded before they are acknowledged."""

    async def record_delivery(self, platform: Platform, delivery_id: str, payload: dict) -> bool:
        """Remember an inbound delivery before acknowledging it; False when it was seen before."""
        ...

    async def pending_deliveries(self, *, limit: int | None = None,
                                 received_before: datetime | None = None) -> list[tuple[Platform, str, dict]]:
        """Deliveries recorded but never processed (e.g. a crash after the ack), oldest first."""
        ...


class OutboxQueue(Protocol):
    """The dispatcher's side of the outbox."""

    async def claim_outbox(self, now: datetime, *, limit: int = 20, lease_seconds: float = 60,
                           per_conversation: int | None = None) -> list[OutboxItem]:
        """Claim due outbox rows for sending (a lease, so another replica cannot take them), most urgent first."""
        ...

    async def outbox_release(self, item_ids: list[int], *, in_doubt: Sequence[int] = ()) -> None:
        """Hand claimed rows back untouched (an earlier message of their conversation failed); those `in_doubt`
        stay in doubt."""
        ...

    async def outbox_sent(self, item_id: int, *, message_ref: str | None, now: datetime) -> None:
        """Mark an outbox row sent; for a card post, remember the placement."""
        ...

    async def outbox_sent_many(self, sent: list[tuple[int, str | None]], *, now: datetime) -> None:
        """outbox_sent for a whole dispatch round."""
        ...

    async def outbox_failed(self, item_id: int, *, error: str, retry_at: datetime | None,
                            counts: bool = True, in_doubt: bool = False) -> None:
        """Record a failed attempt (`counts`=False: only postponed); retry at `retry_at`, or give up when None.

        `in_doubt`: the message may have gone out all the same; its next claim says so (OutboxItem.in_doubt).
        """
        ...

    async def update_placement_ref(self, placement_id: int, message_ref: str) -> None: ...

    async def renew_placement_ref(self, *, subject: Subject, target: Conversation, card_id: str,
                                  message_ref: str) -> bool:
        """Store the reference a press handed out for the card named `card_id`; False when no such card."""
        ...

    async def next_outbox_due(self) -> datetime | None: ...


class SharedState(Protocol):
    """Small state every replica must see (an adapter's), changed atomically."""

    async def change_state(self, key: str, change, *, now: datetime, expires_at: datetime) -> Any:
        """Apply `change(value) -> (new value or None, result)` to a shared key atomically; returns the result."""
        ...


class TicketStore(Units, Inbox, OutboxQueue, SharedState, Protocol):
    """The persistent store: units of work, the inbox of deliveries, the outbox and shared state."""


@dataclass
class Context:
    """What a handler needs, bundled so signatures stay short."""

    store: TicketStore
    clock: Clock
    directory: Directory
    config: AppConfig
    # Nudges the dispatcher after a commit; None where nothing sends (e.g. a one-off CLI run).
    wake_outbox: Callable[[], None] | None = None
    sla: SlaPolicy | None = None  # None switches SLA clocks off
