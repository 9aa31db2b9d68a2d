"""The `csat` table: one survey per resolution of a ticket (its unique key), and the answer once given."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.tables import Base


class CsatRow(Base):
    """A survey: the ticket and the resolution it asks about, whom it went to, and the answer."""

    __tablename__ = "csat"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    version: Mapped[int] = mapped_column(Integer)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"))
    resolved_at: Mapped[datetime] = mapped_column()
    requester_platform: Mapped[str] = mapped_column(String(16))
    requester_user_id: Mapped[str] = mapped_column(String(200))
    conversation: Mapped[dict[str, Any]] = mapped_column()
    language: Mapped[str] = mapped_column(String(16))
    scale: Mapped[str] = mapped_column(String(8))
    asked_at: Mapped[datetime] = mapped_column()
    expires_at: Mapped[datetime] = mapped_column()
    score: Mapped[int | None] = mapped_column(Integer)
    not_solved: Mapped[bool] = mapped_column(Boolean, default=False)
    comment: Mapped[str | None] = mapped_column(Text)
    rated_at: Mapped[datetime | None] = mapped_column()
    # When the card next changes by itself (the change window ends, or it expires): the deadline sweep's bookmark.
    next_due_at: Mapped[datetime | None] = mapped_column()

    __table_args__ = (
        # One survey per resolution: a retried resolve (or a second replica) inserts nothing new.
        UniqueConstraint("ticket_id", "resolved_at", name="uq_csat_ticket_resolution"),
        # A customer's latest survey, read before each of their messages.
        Index("ix_csat_requester", "requester_platform", "requester_user_id", "asked_at"),
        # The KPIs' ranges, covering what they read so no table row is visited: surveys sent in a period (and
        # whether answered), the scores given in it.
        Index("ix_csat_asked_at", "asked_at", "rated_at"),
        Index("ix_csat_rated_at", "rated_at", "score"),
        Index("ix_csat_next_due_at", "next_due_at"),
    )
