"""The outbox dispatcher: sends what handlers committed, paced per conversation, retrying with backoff.

It knows no kind of subject itself: a table `kind → CardKind` says how to load subjects of that kind and build
their cards, so a new kind of card (a request, a digest, an alert) is a loader and a builder, not a change here.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from bot.events import Platform
from bot.ports import (
    CardPlacement,
    Clock,
    Messenger,
    OutboxItem,
    OutgoingKind,
    PacingDelay,
    SendError,
    TicketStore,
    UnitOfWork,
)
from bot.subjects import Subject, SubjectKind
from cards.model import Card

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CardKind:
    """How the dispatcher shows one kind of subject: load several by id (one read), build one's card."""

    load: Callable[[UnitOfWork, Sequence[int]], Awaitable[Mapping[int, Any]]]
    build: Callable[[Any, str, str], Card]  # (loaded subject, viewer role, language) → neutral card


@dataclass
class _Round:
    """What one dispatch round loaded: the subjects it renders and their card placements."""

    subjects: dict[Subject, Any]
    placements: dict[int, CardPlacement]


class OutboxDispatcher:
    """Claims due outbox rows and hands them to each platform's messenger."""

    def __init__(
        self,
        *,
        store: TicketStore,
        messengers: Mapping[Platform, Messenger],
        card_kinds: Mapping[SubjectKind, CardKind],
        clock: Clock,
        max_attempts: int = 12,
        base_delay: float = 1.0,
        max_delay: float = 300.0,
        idle_poll: float = 1.0,
    ):
        self.store = store
        self.messengers = messengers
        self.card_kinds = card_kinds
        self.clock = clock
        self.max_attempts = max_attempts
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.idle_poll = idle_poll
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._last_sent: dict[tuple[Platform, str], float] = {}

    def wake(self) -> None:
        """Nudge the dispatcher: something was just committed to the outbox."""
        self._wake.set()

    def backoff(self, attempts: int) -> float:
        """Seconds before attempt number `attempts + 1`: exponential, capped."""
        return min(self.base_delay * 2 ** max(attempts - 1, 0), self.max_delay)

    async def run_once(self) -> int:
        """Send every due row once; returns how many rows were attempted."""
        items = await self.store.claim_outbox(self.clock.now())
        if not items:
            return 0
        loaded = await self._load(items)
        superseded = _superseded_updates(items)
        stalled: set[str] = set()
        released: list[int] = []
        done: list[tuple[int, str | None]] = []
        for item in items:
            key = f"{item.message.target.platform}|{item.message.target.id}"
            if key in stalled:
                released.append(item.id)  # keep the conversation's order: wait behind the failed one
                continue
            if item.id in superseded:
                done.append((item.id, None))  # a later update of the same card renders the same stored state
                continue
            ok, ref = await self._send(item, loaded)
            if ok and item.message.kind is OutgoingKind.CARD:
                # Remember a new card's place at once: a press on it must be able to refresh it.
                await self.store.outbox_sent(item.id, message_ref=ref, now=self.clock.now())
            elif ok:
                done.append((item.id, ref))
            elif ok is False:
                stalled.add(key)
        # Marked sent together: a crash before this line resends the round (at-least-once, never lost).
        await self.store.outbox_sent_many(done, now=self.clock.now())
        await self.store.outbox_release(released)
        return len(items)

    async def _load(self, items: list[OutboxItem]) -> _Round:
        """The subjects and card placements this round renders, in one read (one query per kind)."""
        wanted: dict[SubjectKind, set[int]] = {}
        for item in items:
            if item.message.kind is not OutgoingKind.TEXT and item.message.subject is not None:
                wanted.setdefault(item.message.subject.kind, set()).add(item.message.subject.id)
        if not wanted:
            return _Round({}, {})
        subjects: dict[Subject, Any] = {}
        async with self.store.snapshot() as uow:
            for kind, ids in wanted.items():
                card_kind = self.card_kinds.get(kind)
                if card_kind is not None:
                    found = await card_kind.load(uow, sorted(ids))
                    subjects.update({Subject(kind, subject_id): value for subject_id, value in found.items()})
            placements = await uow.placements_for([Subject(kind, i) for kind, ids in wanted.items() for i in ids])
        return _Round(subjects, {p.id: p for found in placements.values() for p in found})

    async def drain(self, rounds: int = 50) -> None:
        """Run until nothing is due (used by tests and on shutdown)."""
        for _ in range(rounds):
            if not await self.run_once():
                return

    async def _send(self, item: OutboxItem, loaded: _Round) -> tuple[bool | None, str | None]:
        """(True, ref) when sent; (False, None) when it will be retried; (None, None) when given up."""
        message = item.message
        messenger = self.messengers.get(message.target.platform)
        try:
            if messenger is None:
                raise SendError(f"platform {message.target.platform} is not configured", permanent=True)
            await self._pace(messenger, message.target.platform, message.target.id)
            ref = await self._deliver(messenger, item, loaded)
        except PacingDelay as exc:
            # The platform's rate says wait: postpone, without spending one of the message's attempts.
            await self.store.outbox_failed(item.id, error=str(exc), counts=False,
                                           retry_at=self.clock.now() + timedelta(seconds=exc.retry_after))
            return False, None
        except SendError as exc:
            await self._failed(item, str(exc), exc.retry_after, exc.permanent)
            return (None if exc.permanent else False), None  # a dead message does not hold up the next ones
        except Exception as exc:  # a bug or an unexpected API answer: retry, but keep the trace
            log.exception("outbox item %s failed", item.id)
            await self._failed(item, repr(exc), None, False)
            return False, None
        return True, ref

    async def _deliver(self, messenger: Messenger, item: OutboxItem, loaded: _Round) -> str | None:
        message = item.message
        if message.kind is OutgoingKind.TEXT:
            return await messenger.post(message.target, text=message.text, ephemeral_user=message.ephemeral_user)
        card = await self._card(messenger, item, loaded)
        if message.kind is OutgoingKind.CARD:
            return await messenger.post(message.target, card=card)
        placement = loaded.placements.get(message.placement_id)
        if placement is None:
            raise SendError(f"card placement {message.placement_id} is gone", permanent=True)
        new_ref = await messenger.update(placement.target, placement.message_ref, card)
        if new_ref and new_ref != placement.message_ref:
            await self.store.update_placement_ref(placement.id, new_ref)
            loaded.placements[placement.id] = dataclasses.replace(placement, message_ref=new_ref)
        return new_ref or placement.message_ref

    async def _card(self, messenger: Messenger, item: OutboxItem, loaded: _Round) -> Card:
        """The subject's card as stored now, with its image uploaded to the platform first."""
        message = item.message
        subject = message.subject
        card_kind = self.card_kinds.get(subject.kind) if subject is not None else None
        found = loaded.subjects.get(subject) if subject is not None else None
        if card_kind is None or found is None:
            raise SendError(f"{subject} has no card (gone, or a kind this dispatcher does not know)", permanent=True)
        card = card_kind.build(found, message.viewer_role, message.language)
        if card.image is not None and card.image.ref is None and card.image.data is not None:
            ref = await messenger.upload_image(message.target, card.image)
            card = dataclasses.replace(card, image=dataclasses.replace(card.image, ref=ref, data=None))
        return card

    async def _pace(self, messenger: Messenger, platform: Platform, conversation_id: str) -> None:
        """Keep to the platform's per-conversation rate (e.g. Slack's ~1 message per second)."""
        pacing = getattr(messenger, "pacing", None)
        interval = pacing.per_conversation if pacing is not None else 0.0
        if not interval:
            return
        key = (platform, conversation_id)
        wait = self._last_sent.get(key, 0.0) + interval - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        self._last_sent[key] = time.monotonic()

    async def _failed(self, item: OutboxItem, error: str, retry_after: float | None, permanent: bool) -> None:
        attempts = item.attempts + 1
        if permanent or attempts >= self.max_attempts:
            log.error("outbox item %s given up after %s attempts: %s", item.id, attempts, error)
            await self.store.outbox_failed(item.id, error=error, retry_at=None)
            return
        delay = retry_after if retry_after is not None else self.backoff(attempts)
        await self.store.outbox_failed(item.id, error=error, retry_at=self.clock.now() + timedelta(seconds=delay))

    async def run_forever(self) -> None:
        """Send as things become due; sleep until woken or the next retry is due."""
        while True:
            try:
                sent = await self.run_once()
            except Exception:
                log.exception("outbox dispatcher round failed")
                sent = 0
            if sent:
                continue
            timeout = self.idle_poll
            due = await self.store.next_outbox_due()
            if due is not None:
                timeout = min(max((due - self.clock.now()).total_seconds(), 0.05), self.idle_poll)
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), timeout)
            except TimeoutError:
                pass

    def start(self) -> None:
        """Run in the background on the current loop."""
        if self._task is None:
            self._task = asyncio.create_task(self.run_forever(), name="outbox-dispatcher")

    async def stop(self) -> None:
        """Stop the background loop."""
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None


def _superseded_updates(items: list[OutboxItem]) -> set[int]:
    """Ids of card updates followed, in the same round, by another update of the same card: only the last goes."""
    last: dict[int, int] = {}
    for item in items:
        if item.message.kind is OutgoingKind.CARD_UPDATE and item.message.placement_id is not None:
            last[item.message.placement_id] = item.id
    return {item.id for item in items if item.message.kind is OutgoingKind.CARD_UPDATE
            and item.message.placement_id is not None and last[item.message.placement_id] != item.id}

