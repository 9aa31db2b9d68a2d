"""The dispatcher's table of card kinds: how each kind of subject is loaded and shown."""

from __future__ import annotations

from collections.abc import Sequence

from bot.attachments import ContentStore
from bot.config import AppConfig
from bot.directory import Directory
from bot.ports import Clock, UnitOfWork
from bot.sla import SlaPolicy
from bot.subjects import SubjectKind
from cards.ticket import TicketCards
from schedules.files import file_kind
from schedules.sending import CardKind


async def _load_tickets(uow: UnitOfWork, ids: Sequence[int]):
    return await uow.get_tickets(ids)


def card_kinds(*, directory: Directory, config: AppConfig, policy: SlaPolicy | None,
               clock: Clock, content: ContentStore | None = None) -> dict[SubjectKind, CardKind]:
    """One entry per kind of subject with a card; a new kind adds its loader and card builder here (and the files
    the outbox sends are loaded here too, from the content store)."""
    tickets = TicketCards(directory=directory, categories=config.categories, policy=policy, clock=clock)
    kinds = {SubjectKind.TICKET: CardKind(load=_load_tickets, build=tickets.build)}
    if content is not None:
        kinds[SubjectKind.ATTACHMENT] = file_kind(content)
    return kinds
