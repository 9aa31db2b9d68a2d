"""The deadline sweep: batch → claim each notification exactly once → enqueue its messages → move the bookmark.

Every time-driven promise (SLA clocks now, cross-department request deadlines next) is a stored bookmark on its
subject and a *provider* that says what is due. The sweep owns the loop that makes it safe: one transaction per
batch, a unique (subject, key) claim inserted in the same transaction as the notification's messages, so a
restart or a second replica never sends it twice. A new kind of reminder is a provider, not a copy of this loop.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar

from bot.ports import CardPlacement, Clock, Outgoing, OutgoingKind, TicketStore, UnitOfWork, Urgency
from bot.subjects import Subject

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass
class Due(Generic[T]):
    """A subject whose bookmark has come: the subject itself, the keys already fired, where its cards are."""

    subject: Subject
    item: T
    fired: set[str]
    placements: list[CardPlacement] = field(default_factory=list)


@dataclass(frozen=True)
class Notice:
    """One notification a provider wants fired; `send` False claims it without sending (superseded, quieted)."""

    key: str
    send: bool
    detail: Any = None  # the provider's own description, handed back to fire()


@dataclass
class Plan:
    """What is due now for one subject, and when its bookmark should next come (None: never again by itself)."""

    notices: list[Notice]
    next_due: datetime | None


class MessageBatch:
    """The messages of one batch, in order, written together in the batch's own transaction.

    They are reminders: in a backlog, answers to people go first (card refreshes keep their own urgency). What
    one batch says about a subject to one conversation the provider folds into one message; the store folds it
    further into one still waiting from an earlier batch (Outbox.enqueue_notices).
    """

    def __init__(self):
        self.messages: list[Outgoing] = []

    async def enqueue(self, message: Outgoing) -> None:
        """Keep `message` for the batch."""
        if message.kind is not OutgoingKind.CARD_UPDATE:
            message = dataclasses.replace(message, urgency=Urgency.NOTICE)
        self.messages.append(message)


class SweepProvider(Protocol[T]):
    """One kind of time-driven promise the sweep keeps."""

    name: str

    async def due(self, uow: UnitOfWork, now: datetime, limit: int) -> Sequence[Due[T]]:
        """Up to `limit` subjects whose bookmark has come, oldest first (an indexed query)."""
        ...

    def plan(self, due: Due[T], now: datetime) -> Plan:
        """What is due for this subject now (fired keys excluded) and the next bookmark."""
        ...

    async def fire(self, out: MessageBatch, due: Due[T], notice: Notice, now: datetime) -> None:
        """Put the messages of a won notice into `out`."""
        ...

    async def fired(self, out: MessageBatch, due: Due[T], now: datetime) -> None:
        """After a subject's notices went out (e.g. its cards change colour)."""
        ...

    async def move_bookmarks(self, uow: UnitOfWork, bookmarks: Sequence[tuple[Due[T], datetime | None]]) -> None:
        """Store each subject's next bookmark (one statement for the batch)."""
        ...


class DeadlineSweep:
    """One tick: every provider's due subjects, in batches of one transaction each."""

    def __init__(self, *, store: TicketStore, providers: Sequence[SweepProvider], clock: Clock,
                 wake_outbox=None, batch: int = 500, history: int = 1000):
        self.store, self.providers, self.clock = store, list(providers), clock
        self.wake_outbox = wake_outbox
        self.batch = batch
        self.history = history  # how many recent tick durations each series below keeps
        self.tick_ms: list[float] = []  # durations of recent ticks, for the benchmark and diagnostics
        self.idle_tick_ms: list[float] = []  # … of those that found nothing to send
        self.busy_tick_ms: list[float] = []  # … and of those that sent something

    async def tick(self) -> int:
        """Evaluate everything due; returns how many notifications were sent."""
        started = time.perf_counter()
        now = self.clock.now()
        sent = 0
        for provider in self.providers:
            while True:
                # Read inside the batch's own transaction: a separate read cost a transaction and two more
                # round trips, most of a small tick.
                async with self.store.unit() as uow:
                    due = await provider.due(uow, now, self.batch)
                    if due:
                        sent += await self._batch(uow, provider, due, now)
                if len(due) < self.batch:
                    break
        elapsed = (time.perf_counter() - started) * 1000
        for series in (self.tick_ms, self.busy_tick_ms if sent else self.idle_tick_ms):
            series.append(elapsed)
            del series[:-self.history]
        if sent and self.wake_outbox:
            self.wake_outbox()
        return sent

    async def _batch(self, uow: UnitOfWork, provider: SweepProvider, due: Sequence[Due], now: datetime) -> int:
        """Claim the batch's notices at once, fire the ones won, move every bookmark — one transaction."""
        plans = [(entry, provider.plan(entry, now)) for entry in due]
        claims = [(entry.subject, notice.key, notice.send) for entry, plan in plans for notice in plan.notices]
        # What another replica (or an earlier run) already claimed comes back missing here, and is not sent again.
        won = await uow.claim_notifications(claims)
        out = MessageBatch()
        sent, changed = 0, []
        for entry, plan in plans:
            fired_here = [n for n in plan.notices if n.send and (entry.subject, n.key) in won]
            for notice in fired_here:
                await provider.fire(out, entry, notice, now)
            if fired_here:
                sent += len(fired_here)
                changed.append(entry)
        await provider.move_bookmarks(uow, [(entry, plan.next_due) for entry, plan in plans])
        for entry in changed:
            await provider.fired(out, entry, now)
        # The same transaction as the claims. A notice to a conversation that still holds an unsent one of the same
        # subject (waiting for its pace) joins it: an earlier sweep's message and this one's arrive as one.
        await uow.enqueue_notices(out.messages)
        return sent
