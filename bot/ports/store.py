"""The store: a unit of work (one transaction over the small ports), the inbox, the outbox queue, shared state."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Any, Protocol

from bot.events import Conversation, Platform
from bot.ports.sending import CardPlacement, MessageSink, OutboxItem, Outgoing
from bot.ports.tickets import TicketQueries, Tickets, Timeline
from bot.subjects import Subject
from bot.tickets import Ticket


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


class UnitOfWork(Tickets, TicketQueries, Timeline, Outbox, Placements, NotificationClaims, Protocol):
    """One transaction: everything done through it commits together or not at all."""

    async def mark_delivery_done(self, platform: Platform, delivery_id: str) -> None: ...


class Units(Protocol):
    """Opens transactions."""

    def unit(self) -> AbstractAsyncContextManager[UnitOfWork]: ...

    def snapshot(self) -> AbstractAsyncContextManager[UnitOfWork]:
        """A unit of work for reading only: it never waits for, or holds up, a writer."""
        ...


class DeliveryLog(Protocol):
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


class TicketStore(Units, DeliveryLog, OutboxQueue, SharedState, Protocol):
    """The persistent store: units of work, the inbox of deliveries, the outbox and shared state."""
