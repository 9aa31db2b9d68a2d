"""The only code that knows a platform. Each platform offers pure `payload → neutral event` functions and one
`mount(app, router, settings, wiring) -> Messenger` that adds its endpoints and returns what the outbox sends by."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.config import AppConfig
from bot.directory import Directory
from bot.ports import Clock, SharedState

__all__ = ["Malformed", "SharedState", "Wiring"]


class Malformed(ValueError):
    """A payload that passed the platform's signature check but is not what the platform sends: a 4xx, no effect."""


@dataclass(frozen=True)
class Wiring:
    """What the composition root hands every platform's mount() besides the app, the router and the settings."""

    config: AppConfig
    directory: Directory
    state: SharedState
    clock: Clock  # e.g. to refuse callbacks whose timestamp is too old to be a fresh delivery
    console_log: Any = None  # the console's message log (bot.platforms.console.ConsoleLog): the store
    files: Any = None  # bot.attachments.AttachmentDesk: uploads the adapter receives itself, attachments to serve
