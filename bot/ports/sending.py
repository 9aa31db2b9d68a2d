"""Sending: what goes out (outbox rows, card placements), how a messenger sends it, and what a send can fail with."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum, StrEnum
from typing import Protocol

from bot.events import Conversation, Platform
from bot.subjects import Subject, Viewer
from cards.model import Card, Image


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
    FILE = "file"  # send the attachment `subject` (kind attachment) as a file


@dataclass(frozen=True)
class Outgoing:
    """A message to send, written to the outbox in the same transaction as the change that causes it."""

    kind: OutgoingKind
    target: Conversation
    text: str | None = None
    subject: Subject | None = None  # whose card a CARD / CARD_UPDATE shows
    placement_id: int | None = None
    # Who the card is rendered for (role decides which buttons show) and in which language.
    viewer_role: Viewer = Viewer.STAFF
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
    viewer_role: Viewer
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
