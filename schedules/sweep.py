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
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar

from bot.directory import Directory
from bot.events import Conversation, Platform
from bot.i18n import Translator, translator
from bot.ports import CardPlacement, Clock, NotificationClaims, Outgoing, OutgoingKind, TicketStore, Urgency
from bot.subjects import Subject
from handlers.notify import dm_target

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
    one batch says about a subject to one conversation is one message: providers `say` lines, and the sweep
    turns each subject's lines into a message per conversation before the provider's `fired`; the store folds
    it further into one still waiting from an earlier batch (Outbox.enqueue_notices).
    """

    def __init__(self):
        self.messages: list[Outgoing] = []
        self._said: dict[Subject, dict[Conversation, _Said]] = {}
        self._told: dict[Subject, list[tuple[Conversation, str]]] = {}

    async def enqueue(self, message: Outgoing) -> None:
        """Keep `message` for the batch."""
        if message.kind is not OutgoingKind.CARD_UPDATE:
            message = dataclasses.replace(message, urgency=Urgency.NOTICE)
        self.messages.append(message)

    def say(self, subject: Subject, target: Conversation, text: Callable[[Translator], str], language: str) -> None:
        """Keep a line about `subject` for `target`, in `language`; a line said twice (two levels to one person)
        is kept once."""
        said = self._said.setdefault(subject, {}).setdefault(target, _Said(language))
        line = text(translator(language))
        if line not in said.lines:
            said.lines.append(line)

    def tell(self, directory: Directory, subject: Subject, person_key: str | None,
             text: Callable[[Translator], str], *, prefer: Platform | None = None) -> bool:
        """Keep a line for a person's DM (on `prefer` where they are there), in their language; False when they
        cannot be reached."""
        person = directory.person(person_key)
        target = dm_target(person, prefer) if person else None
        if target is None:
            return False
        self.say(subject, target, text, directory.language_of(person))
        return True

    async def flush(self, subject: Subject) -> None:
        """One message per conversation with the lines said about `subject` (the sweep calls this)."""
        told = self._told.setdefault(subject, [])
        for target, said in self._said.pop(subject, {}).items():
            # Naming the subject lets the store fold it into a notice of it still waiting for the conversation.
            await self.enqueue(Outgoing(OutgoingKind.TEXT, target, text="\n".join(said.lines), subject=subject,
                                        language=said.language))
            told.append((target, said.language))

    def told(self, subject: Subject) -> list[tuple[Conversation, str]]:
        """The conversations (and their languages) that got a message about `subject` in this batch."""
        return list(self._told.get(subject, ()))


@dataclass
class _Said:
    """The lines for one conversation about one subject in one batch."""

    language: str
    lines: list[str] = field(default_factory=list)


class SweepUnit(NotificationClaims, Protocol):
    """What the sweep itself needs of a batch's transaction: claims, and writing the batch's messages.

    Each provider reads and moves its own bookmarks through a small port of its own (e.g. TicketBookmarks),
    which the same transaction implements: `due` and `move_bookmarks` receive it.
    """

    async def enqueue_notices(self, messages: Sequence[Outgoing]) -> None: ...


class SweepProvider(Protocol[T]):
    """One kind of time-driven promise the sweep keeps."""

    name: str

    async def due(self, uow: Any, now: datetime, limit: int) -> Sequence[Due[T]]:
        """Up to `limit` subjects whose bookmark has come, oldest first (an indexed query)."""
        ...

    def plan(self, due: Due[T], now: datetime) -> Plan:
        """What is due for this subject now (fired keys excluded) and the next bookmark."""
        ...

    async def fire(self, out: MessageBatch, due: Due[T], notice: Notice, now: datetime) -> None:
        """Put the messages of a won notice into `out`."""
        ...

    async def fired(self, out: MessageBatch, due: Due[T], now: datetime) -> None:
        """After a subject's notices went out, their lines sent (`out.told`): e.g. its cards change colour."""
        ...

    async def move_bookmarks(self, uow: Any, bookmarks: Sequence[tuple[Due[T], datetime | None]]) -> None:
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
        # Every provider's first batch in one transaction (most ticks find little or nothing: one transaction, not
        # one per provider — on SQLite each is a turn at the one write lock, beside the outbox's sends); a provider
        # with a full batch goes on in transactions of its own. Read inside the batch's transaction: a separate read
        # cost a transaction and two more round trips, most of a small tick.
        more = []
        async with self.store.unit() as uow:
            for provider in self.providers:
                due = await provider.due(uow, now, self.batch)
                if due:
                    sent += await self._batch(uow, provider, due, now)
                if len(due) >= self.batch:
                    more.append(provider)
        for provider in more:
            while True:
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

    async def _batch(self, uow: SweepUnit, provider: SweepProvider, due: Sequence[Due], now: datetime) -> int:
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
            await out.flush(entry.subject)
            await provider.fired(out, entry, now)
        # The same transaction as the claims. A notice to a conversation that still holds an unsent one of the same
        # subject (waiting for its pace) joins it: an earlier sweep's message and this one's arrive as one.
        await uow.enqueue_notices(out.messages)
        return sent
