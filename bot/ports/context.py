"""The clock and the Context a handler is given."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol

from bot.ports.store import TicketStore

if TYPE_CHECKING:  # only for the Context's field types: these modules import the ports' neighbours
    from bot.attachments import Files
    from bot.config import AppConfig
    from bot.directory import Directory
    from bot.sla import SlaPolicy


class Clock(Protocol):
    """Tells the time; tests inject a fake one."""

    def now(self) -> datetime: ...


class SystemClock:
    """The real clock, in UTC."""

    def now(self) -> datetime:
        """Now, timezone-aware UTC."""
        return datetime.now(UTC)


@dataclass
class Context:
    """What a handler needs, bundled so signatures stay short."""

    store: TicketStore
    clock: Clock
    directory: Directory
    config: AppConfig
    # Nudges the dispatcher after a commit; None where nothing sends (e.g. a one-off CLI run).
    wake_outbox: Callable[[], None] | None = None
    sla: SlaPolicy | None = None  # None switches SLA clocks off
    files: Files | None = None  # attachments (bot.attachments); None where files are not taken in
