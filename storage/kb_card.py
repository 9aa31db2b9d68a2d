"""The SQL of suggestions on triage cards and self-service offers (bot/kb_card.py's ports)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.events import Platform
from bot.kb_card import Offer, OfferAnswer, Suggestion
from storage.kb_tables import ArticleRow, OfferRow, SuggestionRow


class SqlKbSuggestions:
    """bot.kb_card.KbSuggestions over one session."""

    def __init__(self, session: AsyncSession):
        self.session = session

    async def keep(self, ticket_id: int, article_ids: Sequence[int]) -> bool:
        """Store a ticket's suggestions once; False when it has them already (a retried delivery)."""
        found = (await self.session.execute(
            select(SuggestionRow.rank).where(SuggestionRow.ticket_id == ticket_id).limit(1))).first()
        if found is not None or not article_ids:
            return False
        try:
            async with self.session.begin_nested():  # another replica's insert wins; this one changes nothing
                self.session.add_all([SuggestionRow(ticket_id=ticket_id, rank=rank, article_id=article_id)
                                      for rank, article_id in enumerate(article_ids, start=1)])
        except IntegrityError:
            return False
        return True

    async def of_tickets(self, ticket_ids: Sequence[int]) -> dict[int, list[Suggestion]]:
        """Each ticket's suggestions, best first, with the articles' titles of now (one query by primary key)."""
        if not ticket_ids:
            return {}
        rows = (await self.session.execute(
            select(SuggestionRow.ticket_id, SuggestionRow.rank, SuggestionRow.article_id, SuggestionRow.sent_at,
                   ArticleRow.title)
            .join(ArticleRow, ArticleRow.id == SuggestionRow.article_id)
            .where(SuggestionRow.ticket_id.in_(list(ticket_ids)))
            .order_by(SuggestionRow.ticket_id, SuggestionRow.rank))).all()
        found: dict[int, list[Suggestion]] = {}
        for row in rows:
            found.setdefault(row.ticket_id, []).append(
                Suggestion(row.ticket_id, row.rank, row.article_id, row.title, sent=row.sent_at is not None))
        return found

    async def mark_sent(self, ticket_id: int, article_id: int, at: datetime) -> None:
        """The article went to the ticket's customer (the first time counts)."""
        await self.session.execute(
            update(SuggestionRow).where(SuggestionRow.ticket_id == ticket_id, SuggestionRow.article_id == article_id,
                                        SuggestionRow.sent_at.is_(None))
            .values(sent_at=at).execution_options(synchronize_session=False))


def _offer(row: OfferRow) -> Offer:
    return Offer(ticket_id=row.ticket_id, article_ids=tuple(row.article_ids), id=row.id,
                 requester_platform=Platform(row.requester_platform), requester_user_id=row.requester_user_id,
                 language=row.language, offered_at=row.offered_at,
                 answer=OfferAnswer(row.answer) if row.answer else None, answered_at=row.answered_at)


class SqlKbOffers:
    """bot.kb_card.KbOffers over one session."""

    def __init__(self, session: AsyncSession):
        self.session = session

    async def add(self, offer: Offer) -> Offer | None:
        """Store a new offer; None when the ticket has one already (its unique key)."""
        row = OfferRow(ticket_id=offer.ticket_id, article_ids=list(offer.article_ids),
                       requester_platform=offer.requester_platform.value, requester_user_id=offer.requester_user_id,
                       language=offer.language, offered_at=offer.offered_at)
        try:
            async with self.session.begin_nested():
                self.session.add(row)
        except IntegrityError:
            return None
        offer.id = row.id
        return offer

    async def load(self, ids: Sequence[int]) -> dict[int, Offer]:
        """Several offers by id."""
        if not ids:
            return {}
        rows = (await self.session.execute(select(OfferRow).where(OfferRow.id.in_(list(ids))))).scalars()
        return {row.id: _offer(row) for row in rows}

    async def of_ticket(self, ticket_id: int) -> Offer | None:
        """The ticket's offer, if it had one."""
        row = (await self.session.execute(select(OfferRow).where(OfferRow.ticket_id == ticket_id))).scalar()
        return _offer(row) if row is not None else None

    async def answer(self, offer_id: int, answer: OfferAnswer, at: datetime) -> bool:
        """Record the answer if none was given yet (a conditional UPDATE: of two presses, one wins)."""
        result = await self.session.execute(
            update(OfferRow).where(OfferRow.id == offer_id, OfferRow.answer.is_(None))
            .values(answer=answer.value, answered_at=at).execution_options(synchronize_session=False))
        return result.rowcount > 0
