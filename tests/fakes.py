"""Test doubles shared by the suite."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

# A 1×1 PNG: what a card's picture (a digest's chart) is made of.
TINY_PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")
START = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)  # Fri 10:00 in Shanghai


class FakeClock:
    """A clock (bot.ports.Clock) that only moves when told to."""

    def __init__(self, start: datetime = START):
        self.set(start)

    def now(self) -> datetime:
        """The fake now, timezone-aware."""
        return self._now

    def advance(self, **delta: float) -> datetime:
        """Move forward by timedelta(**delta), e.g. advance(minutes=5); returns the new now."""
        self._now += timedelta(**delta)
        return self._now

    def set(self, when: datetime) -> None:
        """Jump to `when`, which must be timezone-aware."""
        if when.tzinfo is None:
            raise ValueError("FakeClock needs an aware datetime")
        self._now = when
