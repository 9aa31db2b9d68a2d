"""Requests in SQL: the table's rows ↔ bot.requests.Request, version-checked saves, indexed lists, the sweep's read."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.events import Conversation
from bot.ports import CardPlacement
from bot.ports.requests import StaleRequest
from bot.requests import OPEN_REQUEST_STATUSES, Request, RequestStatus
from bot.subjects import SubjectKind
from storage.bookmarks import due_with_claims, set_bookmarks
from storage.tables import RequestRow

REQUEST_KIND = SubjectKind.REQUEST.value
_OPEN = [status.value for status in OPEN_REQUEST_STATUSES]


def request_from_row(row: RequestRow) -> Request:
    """The domain request of a row."""
    return Request(
        id=row.id, version=row.version, ticket_id=row.ticket_id, asker=row.asker, question=row.question,
        asked_person=row.asked_person, asked_department=row.asked_department, deadline=row.deadline,
        status=RequestStatus(row.status), answer=row.answer, answered_by=row.answered_by,
        asked_from=Conversation.model_validate(row.asked_from) if row.asked_from else None,
        created_at=row.created_at, updated_at=row.updated_at, settled_at=row.settled_at, next_due_at=row.next_due_at,
    )


def _values(request: Request) -> dict:
    return dict(
        ticket_id=request.ticket_id, asker=request.asker, question=request.question,
        asked_person=request.asked_person, asked_department=request.asked_department, deadline=request.deadline,
        status=request.status.value, answer=request.answer, answered_by=request.answered_by,
        asked_from=request.asked_from.model_dump(mode="json") if request.asked_from else None,
        created_at=request.created_at, updated_at=request.updated_at, settled_at=request.settled_at,
        next_due_at=request.next_due_at,
    )


class SqlRequests:
    """The requests half of a unit of work (mixed into storage.unit.SqlUnitOfWork)."""

    session: AsyncSession

    async def add_request(self, request: Request) -> Request:
        """Store a new request; returns it with its id."""
        row = RequestRow(version=1, **_values(request))
        self.session.add(row)
        await self.session.flush()
        return request_from_row(row)

    async def get_request(self, request_id: int) -> Request | None:
        """The request, or None."""
        row = await self.session.get(RequestRow, request_id)
        return request_from_row(row) if row else None

    async def save_request(self, request: Request) -> Request:
        """Conditional UPDATE on the version read: a rival's change is never overwritten."""
        result = await self.session.execute(
            update(RequestRow).where(RequestRow.id == request.id, RequestRow.version == request.version)
            .values(version=request.version + 1, **_values(request)).execution_options(synchronize_session=False))
        if result.rowcount != 1:
            current = await self.session.get(RequestRow, request.id, populate_existing=True)
            raise StaleRequest(request_from_row(current))
        request.version += 1
        return request

    async def ticket_requests(self, ticket_id: int, *, open_only: bool = False) -> list[Request]:
        """A ticket's requests, oldest first."""
        query = select(RequestRow).where(RequestRow.ticket_id == ticket_id)
        if open_only:
            query = query.where(RequestRow.status.in_(_OPEN))
        rows = (await self.session.execute(query.order_by(RequestRow.id))).scalars()
        return [request_from_row(row) for row in rows]

    async def open_requests_of(self, ticket_ids: Sequence[int]) -> dict[int, list[Request]]:
        """The open requests of several tickets at once (their cards list them), oldest first."""
        if not ticket_ids:
            return {}
        rows = (await self.session.execute(
            select(RequestRow).where(RequestRow.ticket_id.in_(ticket_ids), RequestRow.status.in_(_OPEN))
            .order_by(RequestRow.id))).scalars()
        found: dict[int, list[Request]] = {}
        for row in rows:
            found.setdefault(row.ticket_id, []).append(request_from_row(row))
        return found

    async def requests_page(self, *, asked_person: str | None = None, asked_department: str | None = None,
                            asker: str | None = None, limit: int = 20) -> tuple[list[Request], int]:
        """Open requests of a person and/or a department, or an asker's: earliest deadline first, and the count."""
        scopes = []
        if asked_person:
            scopes.append(RequestRow.asked_person == asked_person)
        if asked_department:
            scopes.append(RequestRow.asked_department == asked_department)
        if asker:
            scopes.append(RequestRow.asker == asker)
        if not scopes:
            return [], 0
        where = and_(RequestRow.status.in_(_OPEN), or_(*scopes))
        # Deadlines first (earliest first), requests without one after them; each scope is a partial index.
        rows = (await self.session.execute(
            select(RequestRow).where(where)
            .order_by(RequestRow.deadline.is_(None), RequestRow.deadline, RequestRow.id).limit(limit))).scalars()
        total = (await self.session.execute(select(func.count()).select_from(RequestRow).where(where))).scalar_one()
        return [request_from_row(row) for row in rows], total

    async def requests_due(self, now: datetime, limit: int) -> list[tuple[Request, list[CardPlacement]]]:
        """Requests whose bookmark has come (oldest first), with their fired keys and card placements."""
        return await due_with_claims(self.session, RequestRow, REQUEST_KIND, now, limit, request_from_row)

    async def set_request_bookmarks(self, bookmarks: Sequence[tuple[Request, datetime | None]]) -> None:
        """One executemany; a request changed since it was read keeps its newer bookmark."""
        await set_bookmarks(self.session, RequestRow, bookmarks)
