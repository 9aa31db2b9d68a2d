"""Cross-department requests: saving and reading them, the lists people see, the deadline sweep's bookmarks."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from bot.ports.sending import CardPlacement
from bot.requests import Request


class StaleRequest(Exception):
    """The request changed since it was read (another click, another replica); `current` is how it is now."""

    def __init__(self, current: Request):
        super().__init__(f"request {current.id} changed")
        self.current = current


class Requests(Protocol):
    """A transaction's requests."""

    async def add_request(self, request: Request) -> Request:
        """Store a new request; returns it with its id."""
        ...

    async def get_request(self, request_id: int) -> Request | None: ...

    async def save_request(self, request: Request) -> Request:
        """Save a changed request if nobody changed it since it was read (StaleRequest otherwise)."""
        ...

    async def ticket_requests(self, ticket_id: int, *, open_only: bool = False) -> list[Request]:
        """A ticket's requests, oldest first."""
        ...

    async def open_requests_of(self, ticket_ids: Sequence[int]) -> dict[int, list[Request]]:
        """The open requests of several tickets at once, oldest first."""
        ...

    async def requests_page(self, *, asked_person: str | None = None, asked_department: str | None = None,
                            asker: str | None = None, limit: int = 20) -> tuple[list[Request], int]:
        """Open requests of one person (and/or a department's), or an asker's outgoing ones: the most urgent
        first (earliest deadline, none last), and how many there are in all."""
        ...


class RequestBookmarks(Protocol):
    """The deadline sweep's view of requests."""

    async def requests_due(self, now: datetime, limit: int) -> list[tuple[Request, list[CardPlacement]]]:
        """Requests whose bookmark has come (oldest first), with their fired keys (`fired`) and card placements."""
        ...

    async def set_request_bookmarks(self, bookmarks: Sequence[tuple[Request, datetime | None]]) -> None:
        """Move each request's bookmark, unless the request changed since it was read."""
        ...
