"""The only code that knows a platform. Each platform offers pure `payload → neutral event` functions and one
`mount(app, router, settings, wiring) -> Messenger` that adds its endpoints and returns what the outbox sends by."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from bot.config import AppConfig
from bot.directory import Directory
from bot.ports import Clock


class Malformed(ValueError):
    """A payload that passed the platform's signature check but is not what the platform sends: a 4xx, no effect."""


class SharedState(Protocol):
    """Small state an adapter keeps where every replica sees it (e.g. the 智能机器人's reply streams)."""

    async def change_state(self, key: str, change: Callable[[Any], tuple[Any, Any]], *, now: datetime,
                           expires_at: datetime) -> Any:
        """Apply `change(value) -> (new value or None, result)` to `key` atomically; returns the result."""
        ...


@dataclass(frozen=True)
class Wiring:
    """What the composition root hands every platform's mount() besides the app, the router and the settings."""

    config: AppConfig
    directory: Directory
    state: SharedState
    clock: Clock  # e.g. to refuse callbacks whose timestamp is too old to be a fresh delivery
