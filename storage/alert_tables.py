"""The `alerts` table: one row per (rule, subject, window), claimed by its unique key; who acknowledged it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from storage.tables import Base

OPEN_ALERT_PREDICATE = text("acked_at IS NULL")


class AlertRow(Base):
    """A raised alert: its key, its evidence as data, whom it went to, who acknowledged it and when."""

    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    version: Mapped[int] = mapped_column(Integer)
    rule: Mapped[str] = mapped_column(String(32))
    subject_key: Mapped[str] = mapped_column(String(200))
    window_key: Mapped[str] = mapped_column(String(32))
    raised_at: Mapped[datetime] = mapped_column()
    evidence: Mapped[dict[str, Any]] = mapped_column()
    recipients: Mapped[list[str]] = mapped_column()
    acked_by: Mapped[str | None] = mapped_column(String(128))
    acked_at: Mapped[datetime | None] = mapped_column()

    __table_args__ = (
        # The claim: every replica (and a retried delivery, a restart) inserts the same key; the first one wins.
        # Its prefix (rule, subject) also serves "raised about this customer lately?".
        UniqueConstraint("rule", "subject_key", "window_key", name="uq_alerts_rule_subject_window"),
        # `/ticket alerts`: the open ones, newest first, read from this small partial index.
        Index("ix_alerts_open", "raised_at", sqlite_where=OPEN_ALERT_PREDICATE,
              postgresql_where=OPEN_ALERT_PREDICATE),
    )
