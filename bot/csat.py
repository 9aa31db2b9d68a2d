"""CSAT surveys: asked when a ticket is resolved, answered once (changeable for a short while), then expired.

The core's rules only: what a survey is, the scales and what a customer's answer means. Storage is
storage/surveys.py; the conversation (cards, numbered replies, comments, Not solved) is handlers/survey.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from pydantic import Field

from bot.config_types import Strict
from bot.events import Conversation, Platform
from bot.subjects import Subject, SubjectKind

Scale = Literal["five", "three"]
NOT_SOLVED = 0  # the number a customer types for "not solved" (the card's button carries it too)
MAX_SCORE = 5  # every scale is stored on 1–5, so averages compare across scales


class CsatConfig(Strict):
    """The config's `csat:` section: whether resolved tickets ask for a rating, on which scale, for how long."""

    enabled: bool = True
    scale: Scale = "five"  # five: 1–5; three: 满意 / 一般 / 不满意 (stored as 5 / 3 / 1)
    change_minutes: int = Field(default=10, ge=0)  # a second answer changes the first within this; the comment too
    expire_days: int = Field(default=7, ge=1)  # an unanswered survey stops waiting after this


class StaleSurvey(Exception):
    """The survey changed since it was read (a second press racing the first): this answer changes nothing."""


# (number typed or pressed, stored score) per scale: the customer's number is the button's position.
THREE_SCORES = {1: 1, 2: 3, 3: 5}


def scores(scale: Scale) -> dict[int, int]:
    """The numbers a customer may answer on `scale`, each with the 1–5 score it stands for."""
    return dict(THREE_SCORES) if scale == "three" else {n: n for n in range(1, MAX_SCORE + 1)}


def read_number(text: str, scale: Scale) -> int | None:
    """The answer a message is, when it is exactly one of the scale's numbers or 0 (not solved); else None."""
    stripped = text.strip().translate(_FULL_WIDTH)
    if not stripped.isascii() or not stripped.isdigit():
        return None
    number = int(stripped)
    return number if number == NOT_SOLVED or number in scores(scale) else None


_FULL_WIDTH = str.maketrans("０１２３４５６７８９", "0123456789")  # a Chinese keyboard's digits count too


@dataclass
class Survey:
    """One resolution's survey: to whom it went, when it stops waiting, and the answer once given."""

    ticket_id: int
    resolved_at: datetime
    requester_platform: Platform
    requester_user_id: str
    conversation: Conversation
    language: str
    scale: Scale
    asked_at: datetime
    expires_at: datetime
    score: int | None = None  # 1–5 on every scale
    not_solved: bool = False
    comment: str | None = None
    rated_at: datetime | None = None
    id: int | None = None
    version: int = 0
    next_due_at: datetime | None = None  # when its card next changes by itself (the sweep's bookmark)
    fired: set[str] = field(default_factory=set)  # the sweep's keys already claimed (read with the bookmark)

    @property
    def subject(self) -> Subject:
        """The survey's card subject."""
        return Subject(SubjectKind.SURVEY, self.id or 0)

    @property
    def answered(self) -> bool:
        """True once a score (or Not solved) was given."""
        return self.rated_at is not None

    def expired(self, now: datetime) -> bool:
        """True when it may no longer be answered for the first time."""
        return now >= self.expires_at

    def may_change(self, now: datetime, change_minutes: int) -> bool:
        """True while a given answer (or the comment after it) may still be changed or added."""
        return self.rated_at is not None and now < self.rated_at + timedelta(minutes=change_minutes)

    def card_changes_at(self, change_minutes: int) -> datetime | None:
        """When its card next changes by itself: the end of the change window once answered, else its expiry."""
        if self.rated_at is not None:
            return self.rated_at + timedelta(minutes=change_minutes)
        return self.expires_at

    def number(self) -> int | None:
        """The number the customer chose (0 for not solved), as the scale shows it; None before an answer."""
        if self.not_solved:
            return NOT_SOLVED
        if self.score is None:
            return None
        return next((n for n, s in scores(self.scale).items() if s == self.score), self.score)
