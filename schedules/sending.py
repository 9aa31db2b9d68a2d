"""One outbox row → one platform message (a long text: its parts, which the messenger cuts to the platform's limit):
render the subject's card as stored now, send, and say what happened."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from enum import Enum
from typing import Any

from bot.metrics import OUTBOX_DEAD, OUTBOX_POSTPONED, OUTBOX_RETRIED, OUTBOX_SENT
from bot.ports import (
    CardPlacement,
    Clock,
    Found,
    Messenger,
    OutboxItem,
    OutboxQueue,
    OutgoingKind,
    PacingDelay,
    SendError,
    SentLookup,
    UnitOfWork,
)
from bot.subjects import Subject, SubjectKind
from cards.model import Card

log = logging.getLogger(__name__)
LOOKUP_MARGIN = timedelta(minutes=5)  # how far before a row was written a lookup of its earlier send begins


@dataclass(frozen=True)
class CardKind:
    """How the dispatcher shows one kind of subject: load several by id (one read), build one's card."""

    load: Callable[[UnitOfWork, Sequence[int]], Awaitable[Mapping[int, Any]]]
    build: Callable[[Any, str, str], Card]  # (loaded subject, viewer role, language) → neutral card
    # A kind whose picture is the same for every copy (a digest's chart) keeps the platform's reference of its first
    # upload: (loaded subject, platform) → the kept reference, and (store, loaded subject, platform, ref) → keep it.
    image_ref: Callable[[Any, str], str | None] | None = None
    keep_image_ref: Callable[[Any, Any, str, str], Awaitable[None]] | None = None


@dataclass
class Loaded:
    """What a claimed batch renders: its subjects and their card placements, read once."""

    subjects: dict[Subject, Any]
    placements: dict[int, CardPlacement]


class Outcome(Enum):
    """What became of one attempt."""

    SENT = "sent"
    RETRY = "retry"  # failed or postponed: it goes again later, and the rest of its conversation waits
    DEAD = "dead"  # given up: it no longer holds up the rest of its conversation


@dataclass(frozen=True)
class Result:
    """An attempt's outcome; `ref` is the platform's reference to what was sent."""

    outcome: Outcome
    ref: str | None = None


class Sender:
    """Sends one claimed row through its platform's messenger and records failures (retry, postpone, give up)."""

    def __init__(self, *, store: OutboxQueue, card_kinds: Mapping[SubjectKind, CardKind], clock: Clock,
                 give_up_after: timedelta, base_delay: float, max_delay: float):
        self.store, self.card_kinds, self.clock = store, card_kinds, clock
        self.give_up_after, self.base_delay, self.max_delay = give_up_after, base_delay, max_delay

    def backoff(self, attempts: int) -> float:
        """Seconds before attempt number `attempts + 1`: exponential, capped."""
        return min(self.base_delay * 2 ** max(attempts - 1, 0), self.max_delay)

    async def send(self, messenger: Messenger | None, item: OutboxItem, loaded: Loaded) -> Result:
        """Try `item` once; one in doubt is first looked up where the platform can be asked, and not sent twice."""
        message = item.message
        platform = message.target.platform.value
        lookup = _lookup(messenger, item)
        # Only a message the platform can be asked about stays in doubt; elsewhere it is sent again (at least once).
        doubt = item.in_doubt and lookup is not None
        posting = False
        found: Found | None = None
        try:
            if messenger is None:
                raise SendError(f"platform {message.target.platform} is not configured", permanent=True)
            if doubt:
                found = await self._already_sent(lookup, item)
                if found is not None and found.whole:
                    log.info("outbox item %s was sent before its sender stopped (%s): not sent again", item.id,
                             found.ref)
                    return Result(Outcome.SENT, found.ref)
                if found is not None:
                    log.info("outbox item %s went out in part (%s of %s) before its sender stopped: sending the rest",
                             item.id, sorted(found.parts), found.of)
                doubt = False  # asked, and what is missing is known: now it is certain
            posting = True
            ref = await self._deliver(messenger, item, loaded, tag=lookup is not None, found=found)
        except PacingDelay as exc:
            # The platform's rate says wait: postpone, without spending one of the message's attempts.
            OUTBOX_POSTPONED.labels(platform).inc()
            await self.store.outbox_failed(item.id, error=str(exc), counts=False,
                                           in_doubt=doubt or (exc.sent_some and lookup is not None),
                                           retry_at=self.clock.now() + timedelta(seconds=exc.retry_after))
            return Result(Outcome.RETRY)
        except SendError as exc:  # the platform answered: this attempt sent nothing (or only its first parts)
            return await self._failed(item, str(exc), exc.retry_after, exc.permanent,
                                      in_doubt=doubt or (exc.sent_some and lookup is not None))
        except Exception as exc:  # a bug or an unexpected API answer: retry, but keep the trace
            log.exception("outbox item %s failed", item.id)
            # No answer (a time-out, a dropped connection) may hide a post that went out: look it up next time.
            return await self._failed(item, repr(exc), None, False, in_doubt=doubt or (posting and lookup is not None))
        OUTBOX_SENT.labels(platform).inc()
        return Result(Outcome.SENT, ref)

    async def _already_sent(self, lookup: SentLookup, item: OutboxItem) -> Found | None:
        """What the platform has of an earlier send of `item`, or None (also when the platform cannot tell)."""
        # A little before the row was written: the platform's clock need not agree with ours.
        since = item.created_at - LOOKUP_MARGIN if item.created_at else None
        try:
            return await lookup.find_sent(item.message.target, item.id, since=since)
        except SendError as exc:
            if not exc.permanent:
                raise  # ask again later (a rate limit postpones), still in doubt
            # It cannot be asked here (e.g. a scope the app lacks): at least once rather than never.
            log.warning("outbox item %s: cannot look up an earlier send (%s); sending it again", item.id, exc)
            return None

    async def _deliver(self, messenger: Messenger, item: OutboxItem, loaded: Loaded, *, tag: bool,
                       found: Found | None = None) -> str | None:
        message = item.message
        # A messenger that can look sends up again tags each post with its outbox row.
        tagged = {"outbox_id": item.id} if tag else {}
        if message.kind is OutgoingKind.TEXT:
            # A long text the platform has in part: the messenger sends only the parts still missing.
            resume = {"found": found} if found is not None else {}
            return await messenger.post(message.target, text=message.text, ephemeral_user=message.ephemeral_user,
                                        **tagged, **resume)
        if message.kind is OutgoingKind.FILE:
            from schedules.files import send_file  # (a module of its own: files are not cards)
            return await send_file(messenger, message, loaded.subjects, self.store)
        card = await self._card(messenger, item, loaded)
        if message.kind is OutgoingKind.CARD:
            return await messenger.post(message.target, card=card, **tagged)
        if message.placement_id is None:
            return await self._update_where_posted(messenger, item, loaded, card)
        placement = loaded.placements.get(message.placement_id)
        if placement is None:
            raise SendError(f"card placement {message.placement_id} is gone", permanent=True)
        return await self._update(messenger, placement, loaded, card)

    async def _update(self, messenger: Messenger, placement: CardPlacement, loaded: Loaded, card: Card) -> str:
        new_ref = await messenger.update(placement.target, placement.message_ref, card)
        if new_ref and new_ref != placement.message_ref:
            await self.store.update_placement_ref(placement.id, new_ref)
            loaded.placements[placement.id] = dataclasses.replace(placement, message_ref=new_ref)
        return new_ref or placement.message_ref

    async def _update_where_posted(self, messenger: Messenger, item: OutboxItem, loaded: Loaded,
                                   card: Card) -> str | None:
        """A refresh asked for while the card's post was still on its way (no placement to name yet): every copy
        of the subject's card in this conversation as read now. None found: the post was drawn in this very
        batch, after the change, so there is nothing to refresh."""
        target = item.message.target
        ref = None
        for placement in [p for p in loaded.placements.values() if p.subject == item.message.subject
                          and p.target.platform == target.platform and p.target.id == target.id]:
            ref = await self._update(messenger, placement, loaded, card)
        return ref

    async def _card(self, messenger: Messenger, item: OutboxItem, loaded: Loaded) -> Card:
        """The subject's card as stored now, with its image uploaded to the platform first."""
        message = item.message
        subject = message.subject
        card_kind = self.card_kinds.get(subject.kind) if subject is not None else None
        found = loaded.subjects.get(subject) if subject is not None else None
        if card_kind is None or found is None:
            raise SendError(f"{subject} has no card (gone, or a kind this dispatcher does not know)", permanent=True)
        card = card_kind.build(found, message.viewer_role, message.language)
        if card.image is not None and card.image.ref is None and card.image.data is not None:
            platform = message.target.platform.value
            ref = card_kind.image_ref(found, platform) if card_kind.image_ref else None
            if ref is None:
                ref = await messenger.upload_image(message.target, card.image)
                if card_kind.keep_image_ref is not None:
                    await card_kind.keep_image_ref(self.store, found, platform, ref)
            card = dataclasses.replace(card, image=dataclasses.replace(card.image, ref=ref, data=None))
        return card

    async def _failed(self, item: OutboxItem, error: str, retry_after: float | None, permanent: bool, *,
                      in_doubt: bool = False) -> Result:
        """Retry later (`in_doubt`: looked up first then), or give up: only on a permanent error, or once the
        wall-clock budget is spent."""
        attempts = item.attempts + 1
        age = self.clock.now() - item.created_at if item.created_at else timedelta(0)
        platform = item.message.target.platform.value
        if permanent or age >= self.give_up_after:
            log.error("outbox item %s to %s given up after %s attempts over %s: %s", item.id, platform, attempts,
                      age, error)
            OUTBOX_DEAD.labels(platform).inc()
            await self.store.outbox_failed(item.id, error=error, retry_at=None)
            return Result(Outcome.DEAD)
        OUTBOX_RETRIED.labels(platform).inc()
        delay = retry_after if retry_after is not None else self.backoff(attempts)
        await self.store.outbox_failed(item.id, error=error, retry_at=self.clock.now() + timedelta(seconds=delay),
                                       in_doubt=in_doubt)
        return Result(Outcome.RETRY)


def _lookup(messenger: Messenger | None, item: OutboxItem) -> SentLookup | None:
    """The messenger as a SentLookup when it can tell whether this row's message went out, else None."""
    message = item.message
    # A card update is idempotent (sent twice, it shows the same), and an ephemeral message leaves no history.
    if message.kind in (OutgoingKind.CARD_UPDATE, OutgoingKind.FILE) or message.ephemeral_user:
        return None
    return messenger if callable(getattr(messenger, "find_sent", None)) else None
