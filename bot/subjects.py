"""Subjects: the things that have cards, deadlines and button presses — tickets now; requests, digests, alerts next."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class SubjectKind(StrEnum):
    """The kinds of things that have cards and deadlines: tickets now; requests, digests, alerts next."""

    TICKET = "ticket"
    REQUEST = "request"
    DIGEST = "digest"
    ALERT = "alert"
    SURVEY = "survey"  # a CSAT survey sent to a ticket's customer on resolve (bot/csat.py)
    ATTACHMENT = "attachment"  # not a card: a file the outbox sends (loaded like a subject)
    ARTICLE = "article"  # a knowledge-base article (bot/kb.py)
    KB_OFFER = "kb_offer"  # public articles offered to a ticket's customer, with Solved / Still need help (bot/kb_card.py)


@dataclass(frozen=True)
class Subject:
    """A thing with a card: its kind and its id (e.g. ticket 42)."""

    kind: SubjectKind
    id: int

    @classmethod
    def ticket(cls, ticket_id: int) -> Subject:
        """The subject of ticket `ticket_id`."""
        return cls(SubjectKind.TICKET, ticket_id)


class Viewer(StrEnum):
    """Whom a card is rendered for: the role decides which fields and buttons show."""

    STAFF = "agent"
    CUSTOMER = "customer"
