"""CSAT surveys in SQL: one per resolution (claimed by its unique key), a customer's latest, version-checked saves.

The KPIs' aggregates over this table (average score, response rate) are in storage/kpis.py with the other figures."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.csat import StaleSurvey, Survey
from bot.events import Conversation, Platform
from bot.ports import CardPlacement
from bot.subjects import SubjectKind
from storage.bookmarks import due_with_claims, set_bookmarks
from storage.csat_tables import CsatRow

SURVEY_KIND = SubjectKind.SURVEY.value


def survey_from_row(row: CsatRow) -> Survey:
    """The domain survey of a row."""
    return Survey(
        id=row.id, version=row.version, ticket_id=row.ticket_id, resolved_at=row.resolved_at,
        requester_platform=Platform(row.requester_platform), requester_user_id=row.requester_user_id,
        conversation=Conversation.model_validate(row.conversation), language=row.language, scale=row.scale,
        asked_at=row.asked_at, expires_at=row.expires_at, score=row.score, not_solved=row.not_solved,
        comment=row.comment, rated_at=row.rated_at, next_due_at=row.next_due_at)


class SqlSurveys:
    """bot.ports.surveys.Surveys over one session."""

    def __init__(self, session: AsyncSession):
        self.session = session

    async def add(self, survey: Survey) -> Survey | None:
        """Store a new survey; None when this resolution already has one (a retried delivery, another replica)."""
        row = CsatRow(
            version=1, ticket_id=survey.ticket_id, resolved_at=survey.resolved_at,
            requester_platform=survey.requester_platform.value, requester_user_id=survey.requester_user_id,
            conversation=survey.conversation.model_dump(mode="json"), language=survey.language, scale=survey.scale,
            asked_at=survey.asked_at, expires_at=survey.expires_at, not_solved=False, next_due_at=survey.next_due_at)
        try:
            async with self.session.begin_nested():
                self.session.add(row)
                await self.session.flush()
        except IntegrityError:
            return None
        return survey_from_row(row)

    async def get(self, survey_id: int) -> Survey | None:
        """The survey, or None."""
        row = (await self.session.execute(select(CsatRow).where(CsatRow.id == survey_id)
                                          .execution_options(populate_existing=True))).scalar_one_or_none()
        return survey_from_row(row) if row else None

    async def load(self, ids: Sequence[int]) -> dict[int, Survey]:
        """Several surveys by id (the dispatcher renders their cards)."""
        rows = (await self.session.execute(select(CsatRow).where(CsatRow.id.in_(list(ids))))).scalars()
        return {row.id: survey_from_row(row) for row in rows}

    async def latest_of(self, platform: Platform, user_id: str) -> Survey | None:
        """The customer's most recent survey (ix_csat_requester), answered or not."""
        row = (await self.session.execute(
            select(CsatRow).where(CsatRow.requester_platform == platform.value, CsatRow.requester_user_id == user_id)
            .order_by(CsatRow.asked_at.desc(), CsatRow.id.desc()).limit(1)
            .execution_options(populate_existing=True))).scalar_one_or_none()
        return survey_from_row(row) if row else None

    async def latest_of_tickets(self, ticket_ids: Sequence[int]) -> dict[int, Survey]:
        """Each ticket's latest answered survey (its card shows the score)."""
        if not ticket_ids:
            return {}
        rows = (await self.session.execute(
            select(CsatRow).where(CsatRow.ticket_id.in_(list(ticket_ids)), CsatRow.rated_at.is_not(None))
            .order_by(CsatRow.ticket_id, CsatRow.asked_at))).scalars()
        return {row.ticket_id: survey_from_row(row) for row in rows}  # the last one per ticket wins

    async def save(self, survey: Survey) -> Survey:
        """Save the answer if nobody changed the survey since it was read (StaleSurvey otherwise)."""
        result = await self.session.execute(
            update(CsatRow).where(CsatRow.id == survey.id, CsatRow.version == survey.version)
            .values(version=survey.version + 1, score=survey.score, not_solved=survey.not_solved,
                    comment=survey.comment, rated_at=survey.rated_at, next_due_at=survey.next_due_at))
        if result.rowcount != 1:
            raise StaleSurvey(survey.id)
        survey.version += 1
        return survey

    async def surveys_due(self, now: datetime, limit: int) -> list[tuple[Survey, list[CardPlacement]]]:
        """Surveys whose card is due to change (ix_csat_next_due_at, oldest first), with fired keys and cards."""
        return await due_with_claims(self.session, CsatRow, SURVEY_KIND, now, limit, survey_from_row)

    async def set_survey_bookmarks(self, bookmarks: Sequence[tuple[Survey, datetime | None]]) -> None:
        """One executemany; a survey answered since it was read keeps the bookmark its answer set."""
        await set_bookmarks(self.session, CsatRow, bookmarks)
