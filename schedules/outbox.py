"""The outbox dispatcher: sends what handlers committed — concurrently, paced per conversation, in order within one.

Each conversation with due messages gets a *stream*: a task that sends its messages one after another, keeping the
platform's pace for that conversation (Slack ~1 s per channel) by sleeping only itself. Streams of different
conversations run side by side, bounded per platform by the messenger's `pacing.in_flight`. The claim loop never
waits for a stream: it keeps claiming for other conversations (most urgent first: answers to people before card
refreshes before reminders). A conversation whose stream is running is not claimed again until it ends (its rows
are leased), so order holds, and a stream claims few enough rows to finish well inside its lease.

The dispatcher knows no kind of subject: a table `kind → CardKind` says how to load and draw each one.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Mapping
from datetime import timedelta

from bot.events import Platform
from bot.ports import Clock, Messenger, OutboxItem, OutgoingKind, Pacing, TicketStore, Urgency
from bot.subjects import Subject, SubjectKind
from schedules.sending import CardKind, Loaded, Outcome, Sender

log = logging.getLogger(__name__)
__all__ = ["CardKind", "OutboxDispatcher"]

NO_PACING = Pacing()
STOP_GRACE = 5.0  # seconds stop() lets sends under way finish
# A conversation that must wait longer than this (a platform's Retry-After) is postponed in the database rather
# than waited for by a sleeping stream: its rows must not sit leased for as long as the wait.
MAX_INLINE_WAIT = 2.0
# Consecutive notices to one place are sent as one message up to this size: ~30 lines, one Slack post (its parts
# are 3,900 characters); on WeCom (2,048 bytes a part) a Chinese fold this long goes in two or three parts.
FOLD_CHARS = 1500


class OutboxDispatcher:
    """Claims due outbox rows and hands each conversation's run to a stream of its own."""

    def __init__(
        self,
        *,
        store: TicketStore,
        messengers: Mapping[Platform, Messenger],
        card_kinds: Mapping[SubjectKind, CardKind],
        clock: Clock,
        give_up_after: timedelta = timedelta(hours=6),
        base_delay: float = 1.0,
        max_delay: float = 300.0,
        idle_poll: float = 1.0,
        batch: int = 200,
        per_conversation: int = 30,
        lease_seconds: float = 60.0,
        max_streams: int = 1000,
        mark_interval: float = 0.05,
    ):
        self.store = store
        self.messengers = messengers
        self.clock = clock
        self.sender = Sender(store=store, card_kinds=card_kinds, clock=clock, give_up_after=give_up_after,
                             base_delay=base_delay, max_delay=max_delay)
        self.idle_poll = idle_poll
        self.batch = batch
        # Few enough rows per conversation per claim that a paced stream ends well inside its lease.
        self.per_conversation = per_conversation
        self.lease_seconds = lease_seconds
        self.max_streams = max_streams
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._streams: dict[str, asyncio.Task] = {}
        self._ready_at: dict[str, float] = {}  # conversation → monotonic time its next message may go
        self._slots: dict[Platform, asyncio.Semaphore] = {}
        self._sent: list[tuple[int, str | None]] = []  # sent rows not yet marked (marked together)
        # A send and its "sent" mark are apart until the next flush: a crash there leaves the row in doubt.
        # Marks are written within `mark_interval` of a send while streams run, and as each stream ends.
        self.mark_interval = mark_interval
        self._marks = asyncio.Event()
        self._flushing = asyncio.Lock()
        self._marker: asyncio.Task | None = None

    @property
    def card_kinds(self) -> Mapping[SubjectKind, CardKind]:
        """The table of card kinds the dispatcher renders."""
        return self.sender.card_kinds

    def wake(self) -> None:
        """Nudge the dispatcher: something was just committed to the outbox."""
        self._wake.set()

    async def run_once(self) -> int:
        """Mark what was sent, claim due rows and start their streams; returns how many rows were claimed."""
        await self._flush()
        if len(self._streams) >= self.max_streams:
            return 0
        items = await self.store.claim_outbox(self.clock.now(), limit=self.batch, lease_seconds=self.lease_seconds,
                                              per_conversation=self.per_conversation)
        if not items:
            return 0
        loaded = await self._load(items)
        superseded = _superseded_updates(items)
        runs: dict[str, list[OutboxItem]] = {}
        for item in items:  # claimed oldest first: each conversation's run in order
            runs.setdefault(_key(item), []).append(item)
        # Most urgent conversation first: streams ask for the platform's send slots in the order they start.
        for key, run in sorted(runs.items(), key=lambda entry: (min(i.message.urgency for i in entry[1]),
                                                                 entry[1][0].id)):
            self._streams[key] = asyncio.create_task(self._stream(key, run, loaded, superseded), name=f"outbox {key}")
        return len(items)

    async def drain(self, rounds: int = 200) -> None:
        """Send until nothing is due and every stream has ended (used by tests and on shutdown)."""
        for _ in range(rounds):
            claimed = await self.run_once()
            if self._streams:
                await asyncio.gather(*self._streams.values(), return_exceptions=True)
            elif not claimed:
                break
        await self._flush()

    async def _flush(self) -> None:
        # Marked sent together. A crash before this leaves those rows 'sending' until their lease runs out; then
        # they are in doubt: looked up where the platform can be asked, sent again elsewhere (never lost).
        # One flush at a time: whoever flushes returns only when every mark made before it is written.
        async with self._flushing:
            sent, self._sent = self._sent, []
            if sent:
                try:
                    await self.store.outbox_sent_many(sent, now=self.clock.now())
                except BaseException:
                    self._sent[:0] = sent  # tried again at the next flush (the rows stay leased meanwhile)
                    raise

    async def _mark_forever(self) -> None:
        """Write the marks of what was sent soon after each send: one transaction per `mark_interval` at most."""
        while True:
            await self._marks.wait()
            self._marks.clear()
            try:
                await self._flush()
            except Exception:
                log.exception("outbox could not mark sent rows (tried again shortly)")
                self._marks.set()
            await asyncio.sleep(self.mark_interval)

    async def _load(self, items: list[OutboxItem]) -> Loaded:
        """The subjects and card placements these rows render, in one read (one query per kind)."""
        wanted: dict[SubjectKind, set[int]] = {}
        for item in items:
            if item.message.kind is not OutgoingKind.TEXT and item.message.subject is not None:
                wanted.setdefault(item.message.subject.kind, set()).add(item.message.subject.id)
        if not wanted:
            return Loaded({}, {})
        subjects: dict[Subject, object] = {}
        async with self.store.snapshot() as uow:
            for kind, ids in wanted.items():
                card_kind = self.card_kinds.get(kind)
                if card_kind is not None:
                    found = await card_kind.load(uow, sorted(ids))
                    subjects.update({Subject(kind, subject_id): value for subject_id, value in found.items()})
            placements = await uow.placements_for([Subject(kind, i) for kind, ids in wanted.items() for i in ids])
        return Loaded(subjects, {p.id: p for found in placements.values() for p in found})

    async def _stream(self, key: str, run: list[OutboxItem], loaded: Loaded, superseded: set[int]) -> None:
        """Send one conversation's run in order at its pace; on a failure hand the rest back."""
        index = 0
        try:
            while index < len(run):
                item = run[index]
                if item.id in superseded:
                    self._sent.append((item.id, None))  # a later update of the same card renders the same state
                    index += 1
                    continue
                folded = _foldable_after(run, index)
                messenger = self.messengers.get(item.message.target.platform)
                pacing = getattr(messenger, "pacing", None) or NO_PACING
                wait = self._ready_at.get(key, 0.0) - time.monotonic()
                if wait > MAX_INLINE_WAIT:
                    await self.store.outbox_failed(item.id, error="waiting for the conversation's pace",
                                                   counts=False, in_doubt=item.in_doubt,
                                                   retry_at=self.clock.now() + timedelta(seconds=wait))
                    await self._release(run[index + 1:])
                    return
                if wait > 0:
                    try:
                        await asyncio.sleep(wait)  # only this conversation waits
                    except asyncio.CancelledError:
                        await self._release(run[index:])  # stopped while waiting: nothing of the rest was tried
                        raise
                sending = _folded(item, folded) if folded else item
                async with self._slot(item.message.target.platform, pacing):
                    result = await self.sender.send(messenger, sending, loaded)
                # The platform's pace for this conversation; a rate limit's longer wait is already in the row's
                # next attempt (the database holds the conversation back behind it, on the store's clock).
                self._ready_at[key] = time.monotonic() + pacing.per_conversation
                if result.outcome is Outcome.SENT and item.message.kind is OutgoingKind.CARD:
                    # A new card's place is remembered at once: a reply under it, or a press on it, may come
                    # within moments and must find the card's ticket.
                    await self.store.outbox_sent(item.id, message_ref=result.ref, now=self.clock.now())
                elif result.outcome is Outcome.SENT:
                    # Marked together with other streams' sends within `mark_interval`: one transaction for many.
                    self._sent.extend((sent.id, result.ref) for sent in (item, *folded))
                    self._marks.set()
                elif result.outcome is Outcome.RETRY:
                    # Keep the conversation's order: the rest waits behind the one that will be retried.
                    await self._release(run[index + 1:])
                    return
                elif folded:  # given up as one message: the notices folded into it are tried on their own
                    await self._release(folded)
                index += 1 + len(folded)
        except Exception:
            log.exception("outbox stream %s failed", key)
            await self._release(run[index:])  # not those sent already: their marks are on the way
        finally:
            try:
                await self._flush()  # the stream's marks before its conversation can be claimed again
            except Exception:
                log.exception("outbox could not mark sent rows (tried again shortly)")
                self._marks.set()
            self._streams.pop(key, None)
            self._wake.set()  # the conversation's next rows may be claimed now

    async def _release(self, items: list[OutboxItem]) -> None:
        """Hand claimed, unsent rows back; those in doubt stay in doubt."""
        await self.store.outbox_release([item.id for item in items],
                                        in_doubt=[item.id for item in items if item.in_doubt])

    def _slot(self, platform: Platform, pacing: Pacing) -> asyncio.Semaphore:
        """The platform's bound on sends in flight at once."""
        if platform not in self._slots:
            self._slots[platform] = asyncio.Semaphore(max(1, pacing.in_flight))
        return self._slots[platform]

    async def run_forever(self) -> None:
        """Send as things become due; sleep until woken, a stream ends, or the next retry is due."""
        while True:
            self._wake.clear()
            try:
                claimed = await self.run_once()
            except Exception:
                log.exception("outbox dispatcher round failed")
                claimed = 0
            if claimed:
                continue
            timeout = self.idle_poll
            try:
                due = await self.store.next_outbox_due()
            except Exception:
                log.exception("outbox dispatcher could not read the next due time")
                due = None
            if due is not None:
                timeout = min(max((due - self.clock.now()).total_seconds(), 0.05), self.idle_poll)
            try:
                await asyncio.wait_for(self._wake.wait(), timeout)
            except TimeoutError:
                pass

    def start(self) -> None:
        """Run in the background on the current loop."""
        if self._task is None:
            self._task = asyncio.create_task(self.run_forever(), name="outbox-dispatcher")
        if self._marker is None:
            self._marker = asyncio.create_task(self._mark_forever(), name="outbox-marks")

    async def stop(self) -> None:
        """Stop the background loop; streams under way finish their current run first."""
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
        if self._streams:
            # Sends under way get a moment to finish; a stream waiting for its conversation's pace is stopped,
            # and hands back what it had not tried (see _stream).
            streams = list(self._streams.values())
            _done, waiting = await asyncio.wait(streams, timeout=STOP_GRACE)
            for stream in waiting:
                stream.cancel()
            await asyncio.gather(*streams, return_exceptions=True)
        if self._marker is not None:
            self._marker.cancel()
            try:
                await self._marker
            except asyncio.CancelledError:
                pass
            self._marker = None
        await self._flush()


def _key(item: OutboxItem) -> str:
    """The conversation a row belongs to (the outbox's target_key)."""
    return f"{item.message.target.platform.value}|{item.message.target.id}"


def _is_notice(item: OutboxItem) -> bool:
    """A plain-text notice that may share one message with its neighbours (never an answer, never in doubt)."""
    message = item.message
    return (message.kind is OutgoingKind.TEXT and message.urgency is Urgency.NOTICE and bool(message.text)
            and not item.in_doubt)


def _foldable_after(run: list[OutboxItem], index: int) -> list[OutboxItem]:
    """The notices right after run[index] that go out in its message: consecutive, to the very same place (thread,
    ephemeral reader), up to FOLD_CHARS in all. A paced conversation's queue of "assigned to you" lines and
    reminders becomes one message instead of one a second."""
    first = run[index]
    if not _is_notice(first):
        return []
    folded, size = [], len(first.message.text)
    for item in run[index + 1:]:
        same_place = (item.message.target == first.message.target
                      and item.message.ephemeral_user == first.message.ephemeral_user)
        if not _is_notice(item) or not same_place:  # (only card updates are ever superseded)
            break
        size += 1 + len(item.message.text)
        if size > FOLD_CHARS:
            break
        folded.append(item)
    return folded


def _folded(first: OutboxItem, rest: list[OutboxItem]) -> OutboxItem:
    """`first` carrying the text of every folded notice, a line each, in order."""
    text = "\n".join([first.message.text, *(item.message.text for item in rest)])
    return dataclasses.replace(first, message=dataclasses.replace(first.message, text=text))


def _superseded_updates(items: list[OutboxItem]) -> set[int]:
    """Ids of card updates followed, in the same claim, by another update of the same card: only the last goes."""
    last: dict[int, int] = {}
    for item in items:
        if item.message.kind is OutgoingKind.CARD_UPDATE and item.message.placement_id is not None:
            last[item.message.placement_id] = item.id
    return {item.id for item in items if item.message.kind is OutgoingKind.CARD_UPDATE
            and item.message.placement_id is not None and last[item.message.placement_id] != item.id}
