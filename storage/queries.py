"""The SQL of the read-only ticket queries (lists, counts, breaching), shaped to be served by the indexes.

Each filter is written so that an index of storage.tables answers it: the open statuses as the exact literal
predicate of the partial indexes, the breaching list as ranges over the derived SLA columns.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, Select, case, func, select
from sqlalchemy.sql.elements import TextClause

from bot.ports import TicketQuery
from bot.tickets import OPEN_STATUSES, Priority, Status
from storage.tables import NOT_CLOSED_PREDICATE, OPEN_PREDICATE, OPEN_STATUS_VALUES, TicketRow

if set(OPEN_STATUS_VALUES) != {s.value for s in OPEN_STATUSES}:  # pragma: no cover - a programming error
    raise RuntimeError("storage.tables.OPEN_STATUS_VALUES must list exactly bot.tickets.OPEN_STATUSES")


def status_filter(statuses: frozenset[Status]) -> ColumnElement[bool] | TextClause:
    """WHERE status is one of `statuses`; the open ones as the partial indexes' own predicate."""
    if statuses == OPEN_STATUSES:
        return OPEN_PREDICATE
    return TicketRow.status.in_(sorted(s.value for s in statuses))


def ticket_filter(query: TicketQuery, priority: Priority | None = None) -> list:
    """The WHERE terms of `query` (and of one priority)."""
    terms: list = []
    if query.statuses is not None:
        terms.append(status_filter(frozenset(query.statuses)))
    if query.assignee is not None:
        terms.append(TicketRow.assignee == query.assignee)
    if query.unassigned:
        terms.append(TicketRow.assignee.is_(None))
    if query.requester_platform is not None:
        terms.append(TicketRow.requester_platform == query.requester_platform.value)
    if query.requester_user_id is not None:
        terms.append(TicketRow.requester_user_id == query.requester_user_id)
    if query.department is not None:
        terms.append(TicketRow.department == query.department)
    if priority is not None:
        terms.append(TicketRow.priority == priority.value)
    return terms


def not_closed_counts() -> Select:
    """(status, priority, count) of every status but closed: the partial ix_tickets_status_priority, whole."""
    return (select(TicketRow.status, TicketRow.priority, func.count())
            .where(NOT_CLOSED_PREDICATE).group_by(TicketRow.status, TicketRow.priority))


def breached_running(now: datetime, limit: int, priority: Priority | None = None) -> Select:
    """Running clocks past their deadline, most overdue first (a range of ix_tickets_sla_due)."""
    return (select(TicketRow).where(TicketRow.sla_due_at <= now, *_of(priority))
            .order_by(TicketRow.sla_due_at, TicketRow.sla_risk_at, TicketRow.id).limit(limit))


def at_risk_running(now: datetime, limit: int, priority: Priority | None = None) -> Select:
    """Running clocks in their last fifth but not yet breached, least time left first.

    ix_tickets_sla_due walked from `now` on: the ones due soonest are the likeliest at risk, and the risk
    instant is in the index, so the rows passed over are never read.
    """
    return (select(TicketRow).where(TicketRow.sla_due_at > now, TicketRow.sla_risk_at <= now, *_of(priority))
            .order_by(TicketRow.sla_due_at, TicketRow.sla_risk_at, TicketRow.id).limit(limit))


def at_risk_paused(now: datetime, limit: int, dialect: str, priority: Priority | None = None) -> Select:
    """Paused clocks that were at risk when paused, least time left (deadline − pause start) first.

    ix_tickets_sla_paused_risk: a column holding only paused clocks' risk instants; only this (small) set is sorted.
    """
    # The running clock's deadline, as storage.sla_index.running_deadline picks it.
    responding = TicketRow.respond_by.is_not(None) & TicketRow.first_response_at.is_(None)
    due = case((responding, TicketRow.respond_by), else_=TicketRow.resolve_by)
    left = _seconds(due, dialect) - _seconds(TicketRow.sla_paused_at, dialect)
    return (select(TicketRow).where(TicketRow.sla_paused_risk_at <= now, *_of(priority))
            .order_by(left, TicketRow.id).limit(limit))


def at_risk_count(now: datetime, cap: int | None, priority: Priority | None = None) -> Select:
    """How many tickets are breached or at risk, counting at most `cap` (a range of ix_tickets_sla_risk)."""
    matching = select(TicketRow.id).where(TicketRow.sla_risk_at <= now, *_of(priority)).limit(cap).subquery()
    return select(func.count()).select_from(matching)


def _seconds(column, dialect: str):
    # Only differences are compared, so each dialect's own scale will do (days on SQLite, seconds elsewhere).
    if dialect == "sqlite":
        return func.julianday(column)
    return func.extract("epoch", column)


def _of(priority: Priority | None) -> list:
    return [] if priority is None else [TicketRow.priority == priority.value]
