"""CSAT surveys: what handlers and the dispatcher need of storage (a unit of work's `surveys()`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from bot.csat import Survey
from bot.events import Platform


class Surveys(Protocol):
    """A transaction's surveys (storage.surveys.SqlSurveys)."""

    async def add(self, survey: Survey) -> Survey | None:
        """Store a new survey; None when its resolution already has one (a retried delivery, another replica)."""
        ...

    async def get(self, survey_id: int) -> Survey | None: ...

    async def load(self, ids: Sequence[int]) -> dict[int, Survey]:
        """Several surveys by id."""
        ...

    async def latest_of(self, platform: Platform, user_id: str) -> Survey | None:
        """The customer's most recent survey, answered or not."""
        ...

    async def latest_of_tickets(self, ticket_ids: Sequence[int]) -> dict[int, Survey]:
        """Each ticket's latest answered survey."""
        ...

    async def save(self, survey: Survey) -> Survey:
        """Save the answer if nobody changed the survey since it was read (bot.csat.StaleSurvey otherwise)."""
        ...


class HasSurveys(Protocol):
    """A unit of work that offers its surveys."""

    def surveys(self) -> Surveys: ...
