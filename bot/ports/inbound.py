"""What a platform adapter hands the core: neutral events, recorded once, acknowledged, processed."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

from bot.events import Event, FormSubmitted
from cards.model import Form

# An adapter's answer to its platform (Bolt's ack(), showing what the person typed …), awaited once recorded.
Ack = Callable[[], Awaitable[object]]


class Inbox(Protocol):
    """What an adapter asks of the core: take a neutral event once, and run its own work in the background."""

    async def deliver(self, event: Event, ack: Ack | None = None, *, background: bool = False,
                      done: Ack | None = None, on_new: Ack | None = None) -> bool:
        """Record, acknowledge, then process `event`; False (acknowledged, no effect) when delivered before."""
        ...

    def later(self, work: Awaitable[object]) -> None:
        """Run `work` after the platform has had its answer."""
        ...

    def opens_form(self, event: Event) -> bool:
        """Whether `event` (a press, a command) opens a form where the platform has forms; decided without I/O."""
        ...

    async def form_for(self, event: Event) -> Form | None:
        """The form `event` opens for its actor now, or None: then deliver it as any other event."""
        ...

    async def check_form(self, event: FormSubmitted) -> dict[str, str]:
        """A submission's errors by field name in the submitter's language; empty when it may be delivered."""
        ...
