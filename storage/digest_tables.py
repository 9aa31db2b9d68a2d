"""Figures as sent: a digest's run, one per (digest, period) claimed by its unique key, or a stats answer.

The row's id is the subject id of the figures card (kind `digest`), rendered from the figures kept here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.tables import Base


class DigestRunRow(Base):
    """A digest run that was claimed: its figures as sent (JSON), its chart, and when it was claimed."""

    __tablename__ = "digest_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # NULL for a `/ticket stats` answer: its figures as asked, never claimed (NULLs never collide in the key).
    name: Mapped[str | None] = mapped_column(String(100))
    period: Mapped[str] = mapped_column(String(32))  # Period.key, e.g. 2026-12-04
    claimed_at: Mapped[datetime] = mapped_column()
    status: Mapped[str] = mapped_column(String(16))  # sent | skipped (a holiday, or missed past the grace window) | answer
    figures: Mapped[dict[str, Any]] = mapped_column()
    chart: Mapped[bytes | None] = mapped_column(LargeBinary)
    # The chart as each platform took it (Slack file id, WeCom media id …): uploaded once per run and platform.
    chart_refs: Mapped[dict[str, Any] | None] = mapped_column()

    # The claim: the cron job fires on every replica; the first insert wins, the others change nothing.
    __table_args__ = (UniqueConstraint("name", "period", name="uq_digest_runs_name_period"),)
