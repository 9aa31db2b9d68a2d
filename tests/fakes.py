"""Test doubles shared by the suite."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class FakeClock:
    """A clock that only moves when told to."""

    def __init__(self, start: datetime | None = None):
        self._now = start or datetime(2026, 11, 20, 2, 0, tzinfo=UTC)  # Fri 10:00 in Shanghai

    def now(self) -> datetime:
        """The fake now."""
        return self._now

    def advance(self, **delta) -> datetime:
        """Move forward by a timedelta given as keyword arguments."""
        self._now += timedelta(**delta)
        return self._now

    def set(self, when: datetime) -> None:
        """Jump to `when` (aware)."""
        self._now = when
