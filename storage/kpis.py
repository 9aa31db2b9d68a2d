"""The SQL of the managers' figures: each one a count, a sum or a top-N over a range of one indexed column.

The period bounds are ranges of ix_tickets_created_at / _resolved_at / _closed_at / _response_due_at /
_resolve_by, reopens a range of the partial ix_timeline_reopens, the backlog the open tickets' partial index plus
the tickets finished after the period. Percentiles are read as one row at an offset of the sorted range, so no
rows but the answer leave the database. Definitions: bot/kpis.py and README, *Figures*.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

from sqlalchemy import and_, case, func, literal, or_, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from bot.kb_card import OfferAnswer
from bot.kpis import (
    AGE_BUCKETS,
    AT_RISK_CAP,
    BREACHED_SHOWN,
    TOP_N,
    AgentLoad,
    BreachedTicket,
    DailyPoint,
    Period,
    Report,
    Scope,
    Share,
    Spread,
    percentile_offset,
)
from bot.tickets import Priority
from storage.csat_tables import CsatRow
from storage.kb_tables import OfferRow
from storage.tables import OPEN_PREDICATE, REOPEN_PREDICATE, REPLY_PREDICATE, TicketRow, TimelineRow

T = TicketRow


def scope_terms(scope: Scope) -> list:
    """The WHERE terms of a scope."""
    terms = []
    if scope.department is not None:
        terms.append(T.department == scope.department)
    if scope.agent is not None:
        terms.append(T.assignee == scope.agent)
    if scope.tier is not None:
        terms.append(T.customer_tier == scope.tier.value)
    if scope.priority is not None:
        terms.append(T.priority == scope.priority.value)
    return terms


def _in(column, start: datetime, end: datetime):
    return and_(column >= start, column < end)


class SqlKpis:
    """bot.ports.reports.KpiReads over one (read-only) session."""

    def __init__(self, session: AsyncSession):
        self.session = session

    async def _scalar(self, query) -> int:
        return int((await self.session.execute(query)).scalar() or 0)

    async def _count(self, *terms) -> int:
        return await self._scalar(select(func.count()).select_from(T).where(*terms))

    async def report(self, period: Period, scope: Scope, now: datetime, *, headline: bool = False) -> Report:
        """Every figure of `period` for `scope`, as of `now` (deadlines still ahead are not yet due).

        `headline`: only the counts a change is shown for (new, resolved, closed, reopened, backlog): the previous
        period's report, read beside every digest and stats answer.
        """
        start, end = period.start, period.end
        where = scope_terms(scope)
        backlog, ages, unassigned = await self._backlog(min(end, now), now, where)
        counts = Report(
            period=period, scope=scope,
            new=await self._count(_in(T.created_at, start, end), *where),
            resolved=await self._count(_in(T.resolved_at, start, end), *where),
            closed=await self._count(_in(T.closed_at, start, end), *where),
            reopened=await self._reopened(start, end, where),
            backlog=backlog, backlog_ages=ages, unassigned=unassigned)
        if headline:
            return counts
        due_end = min(end, now)
        response = await self._attainment(T.response_due_at, T.first_response_at, start, due_end, where)
        resolution = await self._attainment(T.resolve_by, func.coalesce(T.resolved_at, T.closed_at), start,
                                            due_end, where)
        fcr, reopen_rate = await self._first_contact(start, end, where)
        csat_avg, csat_response = await self._csat(start, end, where)
        offered, deflected = await self._deflection(start, end, where)
        return dataclasses.replace(
            counts, csat_avg=csat_avg, csat_response=csat_response,
            deflection=Share(deflected, counts.new), offered=offered,
            frt=await self._spread(T.frt_seconds, _in(T.created_at, start, end), where),
            ttr=await self._spread(T.ttr_seconds, _in(T.resolved_at, start, end), where),
            sla_response=response, sla_resolution=resolution,
            breached_count=(response.whole - response.part) + (resolution.whole - resolution.part),
            breached=await self._breached(start, due_end, where),
            **await self._at_risk(now, where),
            fcr=fcr, reopen_rate=reopen_rate,
            by_category=await self._top(T.category, start, end, where),
            by_module=await self._top(T.product_module, start, end, where),
            by_customer=await self._top(T.customer_name, start, end, where),
            agents=await self._agents(start, end, where),
        )

    async def _csat(self, start: datetime, end: datetime, where: list) -> tuple[float | None, Share]:
        """CSAT: the average score of answers given in the period (ix_csat_rated_at), and answered / sent of the
        surveys sent in it (ix_csat_asked_at); "not solved" answers count as answered but carry no score."""
        def scoped(query):
            return query.join(T, T.id == CsatRow.ticket_id).where(*where) if where else query
        average = (await self.session.execute(scoped(select(func.avg(CsatRow.score)).where(
            _in(CsatRow.rated_at, start, end), CsatRow.score.is_not(None))))).scalar()
        sent, answered = (await self.session.execute(scoped(select(func.count(), func.count(CsatRow.rated_at)).where(
            _in(CsatRow.asked_at, start, end))))).one()
        return (round(float(average), 2) if average is not None else None), Share(int(answered), int(sent))

    async def _deflection(self, start: datetime, end: datetime, where: list) -> tuple[int, int]:
        """Self-service offers made in the period and those answered "solved": a range of ix_kb_offers_offered_at,
        which covers the answer (the tickets joined only for a scope)."""
        query = select(func.count(), func.count(case((OfferRow.answer == OfferAnswer.SOLVED.value, 1)))).where(
            _in(OfferRow.offered_at, start, end))
        if where:
            query = query.join(T, T.id == OfferRow.ticket_id).where(*where)
        offered, deflected = (await self.session.execute(query)).one()
        return int(offered), int(deflected)

    async def _reopened(self, start: datetime, end: datetime, where: list) -> int:
        """Reopen lines in the period (the partial index's own predicate, repeated so that it serves)."""
        query = select(func.count()).select_from(TimelineRow).where(REOPEN_PREDICATE, _in(TimelineRow.at, start, end))
        if where:
            query = query.join(T, T.id == TimelineRow.ticket_id).where(*where)
        return await self._scalar(query)

    async def _backlog(self, cut: datetime, now: datetime, where: list) -> tuple[int, dict[str, int], int]:
        """Tickets open at `cut`: open now and opened before it, plus those finished between it and now.

        One read: the open ones from the open tickets' partial index (it holds the creation instant, the assignee
        and the department), those finished since the cut by their resolved/closed instants, summed per age bound
        in a single row. Not a statement per bucket: PostgreSQL's generic plan of a prepared per-bucket count
        (asyncpg prepares them) read the table instead, 100 ms a bucket; nor GROUP BY a CASE, slower on SQLite.
        """
        open_at_cut = [OPEN_PREDICATE, T.created_at < cut, *where]
        if cut < now:
            # Read by the instant they were finished (a short range since the cut); those opened after the cut are
            # dropped below. No condition on created_at here: a planner given one may walk the creation index over
            # the whole year instead.
            finished = [
                select(T.created_at, T.assignee).where(T.resolved_at >= cut, *where),
                # "never resolved" as an expression: as a plain IS NULL, SQLite reads every open ticket for it.
                select(T.created_at, T.assignee).where(T.closed_at >= cut, case((T.resolved_at.is_(None), 1),
                                                                               else_=0) == 1, *where)]
            source = union_all(select(T.created_at, T.assignee).where(*open_at_cut), *finished).subquery()
            created, assignee = source.c.created_at, source.c.assignee
            kept = [created < cut]
        else:
            source, created, assignee, kept = T, T.created_at, T.assignee, open_at_cut
        bounds = [(name, cut - timedelta(days=days)) for name, days in AGE_BUCKETS if days is not None]
        row = (await self.session.execute(
            select(func.count(), func.sum(case((assignee.is_(None), 1), else_=0)),
                   *(func.sum(case((created >= bound, 1), else_=0)) for _name, bound in bounds))
            .select_from(source).where(*kept))).one()
        total, unassigned, younger = int(row[0] or 0), int(row[1] or 0), [int(n or 0) for n in row[2:]]
        # `younger[i]`: opened after the i-th bound; each bucket is the difference to the one before it.
        ages, before = {}, 0
        for (name, _bound), count in zip(bounds, younger, strict=True):
            ages[name], before = count - before, count
        ages[AGE_BUCKETS[-1][0]] = total - before
        return total, ages, unassigned

    async def _spread(self, column, in_period, where: list) -> Spread:
        """Median and p90 (nearest rank) of `column` over the period's tickets that have a value: one sort, in SQL.

        Each value is numbered in order beside the count; the rows at ranks ceil(n/2) and ceil(9n/10) are kept.
        """
        ranked = (select(column.label("value"), func.row_number().over(order_by=column).label("rank"),
                         func.count().over().label("n"))
                  .where(in_period, column.is_not(None), *where).subquery())
        median_rank = (ranked.c.n + 1) // 2  # integer division on both databases: ceil(n / 2)
        p90_rank = (ranked.c.n * 9 + 9) // 10  # ceil(9n / 10)
        rows = (await self.session.execute(
            select(ranked.c.value, ranked.c.rank, ranked.c.n)
            .where(or_(ranked.c.rank == median_rank, ranked.c.rank == p90_rank)).order_by(ranked.c.rank))).all()
        if not rows:
            return Spread()
        count = int(rows[0].n)
        by_rank = {int(row.rank): int(row.value) for row in rows}
        return Spread(by_rank[percentile_offset(count, 0.5) + 1], by_rank[percentile_offset(count, 0.9) + 1], count)

    async def _attainment(self, due, done, start: datetime, end: datetime, where: list) -> Share:
        """Promises due in [start, end): how many were kept (done by the deadline) of how many."""
        if end <= start:
            return Share(0, 0)
        met = func.sum(case((and_(done.is_not(None), done <= due), 1), else_=0))
        row = (await self.session.execute(select(func.count(), met).where(_in(due, start, end), *where))).one()
        return Share(int(row[1] or 0), int(row[0] or 0))

    async def _breached(self, start: datetime, end: datetime, where: list) -> tuple[BreachedTicket, ...]:
        """The promises due in the period and missed, earliest deadline first (a few shown)."""
        if end <= start:
            return ()
        done = func.coalesce(T.resolved_at, T.closed_at)
        missed_response = (select(T.id, T.title, T.assignee, T.priority, literal("respond").label("clock"),
                                  T.response_due_at.label("due"))
                           .where(_in(T.response_due_at, start, end), *where,
                                  or_(T.first_response_at.is_(None), T.first_response_at > T.response_due_at))
                           .order_by(T.response_due_at).limit(BREACHED_SHOWN))
        missed_resolution = (select(T.id, T.title, T.assignee, T.priority, literal("resolve").label("clock"),
                                    T.resolve_by.label("due"))
                             .where(_in(T.resolve_by, start, end), *where, or_(done.is_(None), done > T.resolve_by))
                             .order_by(T.resolve_by).limit(BREACHED_SHOWN))
        found = []
        for query in (missed_response, missed_resolution):
            found += [BreachedTicket(row.id, row.title, row.assignee, Priority(row.priority), row.clock,
                                     _aware(row.due)) for row in (await self.session.execute(query)).all()]
        return tuple(sorted(found, key=lambda b: (b.due, b.id))[:BREACHED_SHOWN])

    async def _at_risk(self, now: datetime, where: list) -> dict:
        """Running promises past their risk point and not yet due, soonest first (ix_tickets_sla_due from `now`),
        and how many there are, counted up to AT_RISK_CAP."""
        at_risk = [T.sla_due_at > now, T.sla_risk_at <= now, *where]
        counted = select(T.id).where(*at_risk).limit(AT_RISK_CAP).subquery()
        count = await self._scalar(select(func.count()).select_from(counted))
        if not count:
            return {"at_risk_count": 0, "at_risk": ()}
        # The running promise is the response while it is unanswered (storage.sla_index picks it the same way).
        rows = (await self.session.execute(
            select(T.id, T.title, T.assignee, T.priority, T.sla_due_at, T.respond_by, T.first_response_at)
            .where(*at_risk).order_by(T.sla_due_at, T.sla_risk_at, T.id).limit(BREACHED_SHOWN))).all()
        return {"at_risk_count": count, "at_risk": tuple(
            BreachedTicket(row.id, row.title, row.assignee, Priority(row.priority),
                           "respond" if row.respond_by is not None and row.first_response_at is None else "resolve",
                           _aware(row.sla_due_at)) for row in rows)}

    async def _first_contact(self, start: datetime, end: datetime, where: list) -> tuple[Share, Share]:
        """Of the tickets resolved in the period: resolved at first contact, and reopened at some point.

        First contact: never reopened, and at most one reply to the customer (the answer that solved it).
        """
        replies = (select(func.count()).select_from(TimelineRow)
                   .where(TimelineRow.ticket_id == T.id, REPLY_PREDICATE).scalar_subquery())
        reopens = (select(func.count()).select_from(TimelineRow)
                   .where(TimelineRow.ticket_id == T.id, REOPEN_PREDICATE).scalar_subquery())
        per_ticket = (select(replies.label("replies"), reopens.label("reopens"))
                      .where(_in(T.resolved_at, start, end), *where).subquery())
        row = (await self.session.execute(select(
            func.count(),
            func.sum(case((and_(per_ticket.c.reopens == 0, per_ticket.c.replies <= 1), 1), else_=0)),
            func.sum(case((per_ticket.c.reopens > 0, 1), else_=0))))).one()
        total = int(row[0] or 0)
        return Share(int(row[1] or 0), total), Share(int(row[2] or 0), total)

    async def _top(self, column, start: datetime, end: datetime, where: list) -> tuple[tuple[str, int], ...]:
        """The most frequent values of `column` among the tickets opened in the period."""
        rows = (await self.session.execute(
            select(column, func.count().label("n")).where(_in(T.created_at, start, end), column.is_not(None),
                                                          column != "", *where)
            .group_by(column).order_by(func.count().desc(), column).limit(TOP_N))).all()
        return tuple((str(value), int(n)) for value, n in rows)

    async def _agents(self, start: datetime, end: datetime, where: list) -> tuple[AgentLoad, ...]:
        """Each assignee's open tickets now (ix_tickets_open_assignee) and tickets resolved in the period."""
        open_rows = (await self.session.execute(
            select(T.assignee, func.count()).where(OPEN_PREDICATE, T.assignee.is_not(None), *where)
            .group_by(T.assignee))).all()
        resolved_rows = (await self.session.execute(
            select(T.assignee, func.count()).where(_in(T.resolved_at, start, end), T.assignee.is_not(None), *where)
            .group_by(T.assignee))).all()
        opened, resolved = dict(open_rows), dict(resolved_rows)
        agents = [AgentLoad(agent, int(opened.get(agent, 0)), int(resolved.get(agent, 0)))
                  for agent in set(opened) | set(resolved)]
        return tuple(sorted(agents, key=lambda a: (-a.open, -a.resolved, a.agent)))

    async def daily(self, period: Period, scope: Scope, now: datetime) -> list[DailyPoint]:
        """Per local day of `period`: opened, resolved, and the response promises kept of those due that day."""
        days = [period.first + timedelta(days=i) for i in range(period.days)]
        bounds = [Period(period.kind, day, day, period.timezone).start for day in days] + [period.end]
        where = scope_terms(scope)

        def day_of(column):
            # The index of the local day an instant falls in: a CASE over the day bounds, grouped in SQL.
            return case(*((column < bound, literal(index)) for index, bound in enumerate(bounds[1:])),
                        else_=literal(len(days)))

        async def per_day(column, *extra) -> dict[int, tuple[int, int]]:
            bucket = day_of(column)
            rows = (await self.session.execute(
                select(bucket, func.count(), *extra).where(_in(column, period.start, period.end), *where)
                .group_by(bucket))).all()
            return {int(row[0]): (int(row[1]), int(row[2] or 0) if len(row) > 2 else 0) for row in rows}

        # Opened and resolved per day: a count over a range of each index per day (index-only, no rows read).
        opened = {i: (await self._count(_in(T.created_at, bounds[i], bounds[i + 1]), *where), 0) for i in range(len(days))}
        resolved = {i: (await self._count(_in(T.resolved_at, bounds[i], bounds[i + 1]), *where), 0)
                    for i in range(len(days))}
        kept = case((and_(T.first_response_at.is_not(None), T.first_response_at <= T.response_due_at), 1), else_=0)
        due = await per_day(T.response_due_at, func.sum(kept))
        points = []
        for index, day in enumerate(days):
            whole, part = due.get(index, (0, 0))
            past = bounds[index + 1] <= now
            points.append(DailyPoint(day, opened.get(index, (0, 0))[0], resolved.get(index, (0, 0))[0],
                                     Share(part, whole).pct if past else None))
        return points


def _aware(value: datetime) -> datetime:
    # Selected through a labelled column the UTC type still applies; a raw value from SQLite may be naive.
    from datetime import UTC
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value
