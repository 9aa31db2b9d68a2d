"""The survey provider of the deadline sweep: a survey's card catches up when its change window ends or it expires.

Nothing is said to anyone; the card is re-drawn, so the buttons a customer can no longer use disappear (the thanks,
or "this survey has closed", take their place). Claimed like any notice, so a restart or a second replica re-draws
it once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.csat import Survey
from handlers.notify import update_cards
from schedules.sweep import Due, MessageBatch, Notice, Plan


class SurveyProvider:
    """What is due on surveys: their cards' next change by themselves."""

    name = "surveys"

    async def due(self, uow, now: datetime, limit: int) -> list[Due[Survey]]:
        """Surveys whose bookmark has come, with their fired keys and card placements."""
        return [Due(survey.subject, survey, survey.fired, cards)
                for survey, cards in await uow.surveys().surveys_due(now, limit)]

    def plan(self, due: Due[Survey], now: datetime) -> Plan:
        """One re-draw per bookmark (its instant is the key); nothing after it."""
        survey = due.item
        if survey.next_due_at is None:
            return Plan([], None)
        key = f"redraw:{survey.next_due_at.strftime('%Y%m%dT%H%M%S')}"
        return Plan([] if key in due.fired else [Notice(key, bool(due.placements))], None)

    async def fire(self, out: MessageBatch, due: Due[Survey], notice: Notice, now: datetime) -> None:
        """Nothing to say: the card's re-draw follows in `fired`."""

    async def fired(self, out: MessageBatch, due: Due[Survey], now: datetime) -> None:
        """Every copy of the survey's card is re-drawn as it stands now."""
        await update_cards(out, due.item, due.placements)

    async def move_bookmarks(self, uow, bookmarks: Sequence[tuple[Due[Survey], datetime | None]]) -> None:
        """One statement for the batch; a survey answered since it was read keeps the bookmark its answer set."""
        await uow.surveys().set_survey_bookmarks([(due.item, next_due) for due, next_due in bookmarks])
