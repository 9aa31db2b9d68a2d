"""Queries at scale: counts from aggregates (right above any row limit), pages and the breaching list from indexes."""

from __future__ import annotations

import random
import time
from datetime import timedelta

from sqlalchemy import Integer, insert, literal, select, true

from bot.config import load_config
from bot.events import Conversation, ConversationKind, Platform
from bot.ports import TicketQuery
from bot.sla import SlaPolicy
from bot.tickets import OPEN_STATUSES, Identity, Priority, Status, Ticket
from storage.tables import OPEN_STATUS_VALUES, TicketRow
from tests.harness import EXAMPLE_CONFIG

DM = Conversation(platform=Platform.SLACK, id="D1", kind=ConversationKind.DM)
COPIES = 10_000  # 12 distinct rows × (1 + 10,000) copies = 120,012 tickets: above the 100,000 the old stats read


def _ticket(**overrides) -> Ticket:
    values = dict(title="VPN 连不上", requester=Identity(Platform.SLACK, "U1"), source=DM)
    values.update(overrides)
    return Ticket(**values)


async def _multiply(store, copies: int) -> None:
    """Copy every stored ticket `copies` times in one INSERT … SELECT (fast: no rows through Python)."""
    numbers = select(literal(1, Integer).label("n")).cte("numbers", recursive=True)
    numbers = numbers.union_all(select(numbers.c.n + 1).where(numbers.c.n < copies))
    tickets = TicketRow.__table__
    columns = [c for c in tickets.c if c.name != "id"]
    async with store.engine.begin() as connection:
        await connection.execute(insert(tickets).from_select(
            [c.name for c in columns], select(*columns).select_from(tickets.join(numbers, true()))))


def test_the_open_predicate_lists_exactly_the_open_statuses():
    assert set(OPEN_STATUS_VALUES) == {s.value for s in OPEN_STATUSES}


async def test_stats_counts_are_right_above_a_hundred_thousand_tickets(store, clock):
    """The issue: stats read at most 100,000 rows, so at 1M it reported 100,000 tickets (wrong)."""
    kinds = [(Status.NEW, Priority.P1, None), (Status.NEW, Priority.P0, "alice"), (Status.TRIAGED, Priority.P2, None),
             (Status.IN_PROGRESS, Priority.P2, "li"), (Status.IN_PROGRESS, Priority.P3, "li"),
             (Status.WAITING_CUSTOMER, Priority.P1, "alice"), (Status.WAITING_COLLEAGUE, Priority.P3, None),
             (Status.RESOLVED, Priority.P1, "li"), (Status.CLOSED, Priority.P2, "alice"),
             (Status.CLOSED, Priority.P2, None), (Status.CLOSED, Priority.P0, "li"), (Status.CLOSED, Priority.P3, "li")]
    async with store.unit() as uow:
        for status, priority, assignee in kinds:
            await uow.add_ticket(_ticket(status=status, priority=priority, assignee=assignee))
    started = time.perf_counter()
    await _multiply(store, COPIES)
    assert time.perf_counter() - started < 10
    per_row = COPIES + 1
    async with store.snapshot() as reads:
        by_status, open_by_priority = await reads.ticket_counts()
        unassigned = await reads.count_tickets(TicketQuery(statuses=OPEN_STATUSES, unassigned=True))
        open_count = await reads.count_tickets(TicketQuery(statuses=OPEN_STATUSES))
        capped = await reads.count_tickets(TicketQuery(statuses=OPEN_STATUSES), cap=1000)
        first_page = await reads.ticket_page(TicketQuery(statuses=OPEN_STATUSES, limit=20))
        p3_page_2 = await reads.ticket_page(TicketQuery(statuses=OPEN_STATUSES, limit=20), priority=Priority.P3,
                                            offset=20)
    assert sum(by_status.values()) == 12 * per_row > 100_000
    assert by_status == {Status.NEW: 2 * per_row, Status.TRIAGED: per_row, Status.IN_PROGRESS: 2 * per_row,
                         Status.WAITING_CUSTOMER: per_row, Status.WAITING_COLLEAGUE: per_row,
                         Status.RESOLVED: per_row, Status.CLOSED: 4 * per_row}
    assert open_by_priority == {Priority.P0: per_row, Priority.P1: 2 * per_row, Priority.P2: 2 * per_row,
                                Priority.P3: 2 * per_row}
    assert unassigned == 3 * per_row and open_count == 7 * per_row and capped == 1000
    assert [t.priority for t in first_page] == [Priority.P0] * 20 and all(t.is_open for t in first_page)
    assert len(p3_page_2) == 20 and {t.priority for t in p3_page_2} == {Priority.P3}


async def test_breaching_list_is_what_the_policy_says_least_time_left_first(store, clock):
    """The database's breaching list equals SlaPolicy.state over every open ticket (the old way), in order."""
    policy, rng, now = SlaPolicy(load_config(EXAMPLE_CONFIG)), random.Random(7), clock.now()
    async with store.unit() as uow:
        for _ in range(300):
            created = now - timedelta(minutes=rng.randint(0, 3000))
            window = timedelta(minutes=rng.randint(10, 3000))
            status = rng.choice([*OPEN_STATUSES, Status.RESOLVED, Status.CLOSED])
            responded = rng.random() < 0.5
            paused = created + timedelta(minutes=rng.randint(0, 3000)) if status is Status.WAITING_CUSTOMER else None
            await uow.add_ticket(_ticket(
                status=status, created_at=created, priority=rng.choice(list(Priority)),
                respond_by=None if responded else created + window / 4,
                first_response_at=created + timedelta(minutes=1) if responded else None,
                resolve_by=created + window if rng.random() < 0.9 else None,
                sla_paused_at=min(paused, now) if paused else None))
        everything = await uow.list_tickets(TicketQuery(limit=1000))
    expected = []
    for ticket in everything:
        state = policy.state(ticket, now)
        if state.remaining is None:
            continue
        if state.breached or state.remaining <= (state.due - ticket.created_at) * 0.2:
            expected.append((state.remaining, ticket.id))
    expected = [ticket_id for _left, ticket_id in sorted(expected)]
    assert len(expected) > 40, "the sample has breached, at-risk and paused tickets"
    async with store.snapshot() as reads:
        pages = [[t.id for t in await reads.breaching_tickets(now, limit=20, offset=o)] for o in range(0, 300, 20)]
        count = await reads.count_breaching(now)
        p1 = [t.id for t in await reads.breaching_tickets(now, limit=500, priority=Priority.P1)]
    assert [i for page in pages for i in page] == expected
    assert count == len(expected)
    by_id = {t.id: t for t in everything}
    assert p1 == [i for i in expected if by_id[i].priority is Priority.P1]


async def test_lists_and_counts_are_served_by_indexes(store, clock):
    """The plans name the indexes (SQLite's EXPLAIN QUERY PLAN; PostgreSQL chooses by cost on real data)."""
    if store.engine.dialect.name != "sqlite":
        return
    from storage import queries
    from storage.queries import ticket_filter

    async with store.snapshot() as reads:
        connection = await reads.session.connection()

        async def plan(statement) -> str:
            sql = statement.compile(dialect=connection.dialect, compile_kwargs={"literal_binds": True})
            return " ".join(str(row[-1]) for row in (await connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}")))

        open_list = (select(TicketRow).where(*ticket_filter(TicketQuery(statuses=OPEN_STATUSES)))
                     .order_by(TicketRow.priority, TicketRow.created_at, TicketRow.id).limit(20))
        mine = (select(TicketRow).where(*ticket_filter(TicketQuery(statuses=OPEN_STATUSES, assignee="alice")))
                .order_by(TicketRow.priority, TicketRow.created_at, TicketRow.id).limit(20))
        now = clock.now()
        assert "ix_tickets_open_queue" in await plan(open_list) and "TEMP B-TREE" not in await plan(open_list)
        assert "ix_tickets_open_assignee" in await plan(mine) and "TEMP B-TREE" not in await plan(mine)
        assert "ix_tickets_sla_due" in await plan(queries.breached_running(now, 20))
        assert "ix_tickets_sla_paused_risk" in await plan(queries.at_risk_paused(now, 20, "sqlite"))
        assert "COVERING INDEX ix_tickets_sla_risk" in await plan(queries.at_risk_count(now, 100))
        assert "COVERING INDEX ix_tickets_status_priority" in await plan(queries.not_closed_counts())


