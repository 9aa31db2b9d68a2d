"""The outbox dispatcher: sends what handlers committed, paced per conversation, retrying with backoff."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from datetime import timedelta

from bot.events import Platform
from bot.ports import Clock, Messenger, OutboxItem, OutgoingKind, PacingDelay, SendError, TicketStore
from bot.tickets import Ticket

log = logging.getLogger(__name__)

CardRenderer = Callable[[Ticket, str, str], object]  # (ticket, viewer_role, language) -> neutral Card


class OutboxDispatcher:
    """Claims due outbox rows and hands them to each platform's messenger."""

    def __init__(
        self,
        *,
        store: TicketStore,
        messengers: Mapping[Platform, Messenger],
        render_card: CardRenderer,
        clock: Clock,
        max_attempts: int = 12,
        base_delay: float = 1.0,
        max_delay: float = 300.0,
        idle_poll: float = 1.0,
    ):
        self.store = store
        self.messengers = messengers
        self.render_card = render_card
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
        tickets, placements = await self._load(items)
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
            ok, ref = await self._send(item, tickets, placements)
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

    async def _load(self, items: list[OutboxItem]):
        """The tickets and card placements this round renders, in one read."""
        ids = {i.message.ticket_id for i in items if i.message.kind is not OutgoingKind.TEXT and i.message.ticket_id}
        if not ids:
            return {}, {}
        async with self.store.snapshot() as uow:
            tickets = {ticket_id: await uow.get_ticket(ticket_id) for ticket_id in ids}
            placements = await uow.placements_for(list(ids))
        return tickets, {p.id: p for found in placements.values() for p in found}

    async def drain(self, rounds: int = 50) -> None:
        """Run until nothing is due (used by tests and on shutdown)."""
        for _ in range(rounds):
            if not await self.run_once():
                return

    async def _send(self, item: OutboxItem, tickets: dict, placements: dict) -> tuple[bool | None, str | None]:
        """(True, ref) when sent; (False, None) when it will be retried; (None, None) when given up."""
        message = item.message
        messenger = self.messengers.get(message.target.platform)
        try:
            if messenger is None:
                raise SendError(f"platform {message.target.platform} is not configured", permanent=True)
            await self._pace(messenger, message.target.platform, message.target.id)
            ref = await self._deliver(messenger, item, tickets, placements)
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

    async def _deliver(self, messenger: Messenger, item: OutboxItem, tickets: dict, placements: dict) -> str | None:
        message = item.message
        if message.kind is OutgoingKind.TEXT:
            return await messenger.post(message.target, text=message.text, ephemeral_user=message.ephemeral_user)
        ticket = tickets.get(message.ticket_id)
        placement = placements.get(message.placement_id) if message.kind is OutgoingKind.CARD_UPDATE else None
        if ticket is None:
            raise SendError(f"ticket {message.ticket_id} is gone", permanent=True)
        card = self.render_card(ticket, message.viewer_role, message.language)
        if message.kind is OutgoingKind.CARD:
            return await messenger.post(message.target, card=card)
        if placement is None:
            raise SendError(f"card placement {message.placement_id} is gone", permanent=True)
        new_ref = await messenger.update(placement.target, placement.message_ref, card)
        if new_ref and new_ref != placement.message_ref:
            await self.store.update_placement_ref(placement.id, new_ref)
            placements[placement.id] = type(placement)(placement.id, placement.ticket_id, placement.target, new_ref,
                                                       placement.viewer_role, placement.language)
        return new_ref or placement.message_ref

    async def _pace(self, messenger: Messenger, platform: Platform, conversation_id: str) -> None:
        """Keep to the platform's per-conversation rate (e.g. Slack's ~1 message per second)."""
        interval = messenger.pacing.per_conversation
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

