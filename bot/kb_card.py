"""Articles around a new ticket: the ones suggested on its triage card, and the ones offered to its customer.

A suggestion is an article shown to the ticket's agents with a Send button (sent: it went to the customer). An offer
is the self-service card in the customer's conversation: up to three public articles and two answers, *solved*
(the ticket is resolved as deflected) or *still need help* (it goes on to the team); answered once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from bot.events import Platform
from bot.kb import format_article_number
from bot.subjects import Subject, SubjectKind


@dataclass(frozen=True)
class Suggestion:
    """An article suggested for a ticket, as its card shows it."""

    ticket_id: int
    rank: int
    article_id: int
    title: str
    sent: bool = False

    @property
    def number(self) -> str:
        """KB-12."""
        return format_article_number(self.article_id)


class OfferAnswer(StrEnum):
    """What the customer said of the articles offered."""

    SOLVED = "solved"
    HELP = "help"  # I still need help: the ticket goes on to the team


@dataclass
class Offer:
    """Public articles offered to a ticket's customer, and their answer once given."""

    ticket_id: int
    article_ids: tuple[int, ...]
    requester_platform: Platform
    requester_user_id: str
    language: str
    offered_at: datetime
    answer: OfferAnswer | None = None
    answered_at: datetime | None = None
    id: int | None = None

    @property
    def subject(self) -> Subject:
        """The offer's card subject."""
        return Subject(SubjectKind.KB_OFFER, self.id or 0)

    @property
    def numbers(self) -> str:
        """'KB-1 KB-7': the articles as the timeline names them."""
        return " ".join(format_article_number(article_id) for article_id in self.article_ids)


class KbSuggestions(Protocol):
    """A transaction's suggestions (storage.kb_card.SqlKbSuggestions)."""

    async def keep(self, ticket_id: int, article_ids: Sequence[int]) -> bool:
        """Store a ticket's suggestions once; False when it has them already (a retried delivery)."""
        ...

    async def of_tickets(self, ticket_ids: Sequence[int]) -> dict[int, list[Suggestion]]:
        """Each ticket's suggestions, best first, with the articles' titles of now."""
        ...

    async def mark_sent(self, ticket_id: int, article_id: int, at: datetime) -> None:
        """The article went to the ticket's customer (a suggested one, else nothing changes)."""
        ...


class KbOffers(Protocol):
    """A transaction's self-service offers (storage.kb_card.SqlKbOffers)."""

    async def add(self, offer: Offer) -> Offer | None:
        """Store a new offer; None when the ticket has one already."""
        ...

    async def load(self, ids: Sequence[int]) -> dict[int, Offer]: ...

    async def of_ticket(self, ticket_id: int) -> Offer | None: ...

    async def answer(self, offer_id: int, answer: OfferAnswer, at: datetime) -> bool:
        """Record the answer if none was given yet; False when one was (a double press, another replica)."""
        ...


class HasKbCard(Protocol):
    """A unit of work that offers suggestions and offers."""

    def kb_suggestions(self) -> KbSuggestions: ...

    def kb_offers(self) -> KbOffers: ...
