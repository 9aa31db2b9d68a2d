"""Tickets: reading and saving them, their timeline, and the figures and lists over them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from bot.events import Conversation, Platform
from bot.subjects import Subject
from bot.tickets import Priority, Status, Ticket, TimelineEntry


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
    async def lock_requester(self, platform: Platform, user_id: str) -> None:
        """Hold this customer's intake until the transaction ends (two messages at once join one ticket)."""
        ...

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
