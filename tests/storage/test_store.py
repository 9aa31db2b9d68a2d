"""Storage on SQLite and PostgreSQL (TEST_DATABASE_URL): tickets, the version race, inbox, migrations.

The outbox has its own file: tests/storage/test_outbox_store.py.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text

from bot.events import Conversation, ConversationKind, Platform
from bot.ports import StaleTicket, TicketQuery
from bot.tickets import OPEN_STATUSES, Identity, Impact, Priority, Status, Ticket, Tier, TimelineEntry
from storage.db import create_engine, split_schema
from storage.kb_tables import in_orm_models
from storage.migrate import alembic_config, downgrade, upgrade
from storage.store import SqlStore
from storage.tables import Base

SHANGHAI = ZoneInfo("Asia/Shanghai")
DM = Conversation(platform=Platform.SLACK, id="D1", kind=ConversationKind.DM)
THREAD = Conversation(platform=Platform.SLACK, id="C1", kind=ConversationKind.CHANNEL, thread_id="171.2")


def _ticket(**overrides) -> Ticket:
    values = dict(title="VPN 连不上", requester=Identity(Platform.SLACK, "U1"), source=DM)
    values.update(overrides)
    return Ticket(**values)


def _full_ticket() -> Ticket:
    """A ticket with every field away from its default (the round-trip test checks that it stays so)."""
    def at(hour: int) -> datetime:
        return datetime(2026, 11, 20, hour, 30, 15, 123456, tzinfo=SHANGHAI)

    return Ticket(
        title="VPN 连不上", requester=Identity(Platform.WECOM, "zhangsan"),
        source=Conversation(platform=Platform.WECOM, id="wr1", kind=ConversationKind.GROUP),
        description="since 9am\nsecond line", status=Status.WAITING_COLLEAGUE, priority=Priority.P0,
        category="network", product_module="vpn", impact=Impact.COMPANY, customer_name="ACME 公司",
        customer_tier=Tier.VIP, customer_language="zh-CN", assignee="alice", department="it",
        tags=["network", "vip"], created_at=at(9), updated_at=at(10), first_response_at=at(11),
        resolved_at=at(12), closed_at=at(13), customer_conversation=DM, agent_thread=THREAD,
        last_customer_message_at=at(14), respond_by=at(15), resolve_by=at(16), sla_paused_at=at(17),
        sla_pauses=[(at(11), at(12)), (at(13), at(14))], next_due_at=at(18), escalation_acked="respond:L1",
        response_due_at=at(19), frt_seconds=5400, ttr_seconds=86_400,
    )


def _dialect(store: SqlStore) -> str:
    return store.engine.dialect.name


# --- tickets ----------------------------------------------------------------------------------------------


async def test_ticket_round_trip_keeps_every_field(store):
    ticket = _full_ticket()
    for spec in dataclasses.fields(Ticket):
        if spec.name not in ("id", "version"):
            default = spec.default_factory() if spec.default_factory is not dataclasses.MISSING else spec.default
            assert getattr(ticket, spec.name) != default, f"set {spec.name} in _full_ticket"
    async with store.unit() as uow:
        added = await uow.add_ticket(ticket)
    async with store.unit() as uow:
        loaded = await uow.get_ticket(added.id)
    assert (loaded.id, loaded.version) == (added.id, 1)
    assert loaded == added
    stamps = [v for v in vars(loaded).values() if isinstance(v, datetime)]
    stamps += [moment for pause in loaded.sla_pauses for moment in pause]
    assert len(stamps) == 15 and all(s.utcoffset() == timedelta(0) for s in stamps), "aware UTC on every database"
    assert loaded.closed_at == datetime(2026, 11, 20, 5, 30, 15, 123456, tzinfo=UTC)


async def test_add_ticket_numbers_and_stamps_it(store, clock):
    async with store.unit() as uow:
        first = await uow.add_ticket(_ticket())
        second = await uow.add_ticket(_ticket())
    assert (first.version, first.created_at, first.updated_at) == (1, clock.now(), clock.now())
    assert second.id > first.id


async def test_save_bumps_the_version_and_refuses_a_stale_one(store, clock):
    async with store.unit() as uow:
        ticket = await uow.add_ticket(_ticket())
    stale_copy = dataclasses.replace(ticket)
    async with store.unit() as uow:
        ticket.priority = Priority.P1
        assert (await uow.save_ticket(ticket)).version == 2
    with pytest.raises(StaleTicket) as raised:
        async with store.unit() as uow:
            stale_copy.priority = Priority.P3
            await uow.save_ticket(stale_copy)
    assert raised.value.changed_by is None, "no timeline entry says who"
    assert (raised.value.current.version, raised.value.current.priority) == (2, Priority.P1)


async def _race(database_url, clock, *, same_transaction: bool):
    """Two replicas read version 1 of one ticket, then both assign it; returns (results, ticket id)."""
    stores = [SqlStore(create_engine(database_url), clock) for _ in range(2)]
    try:
        async with stores[0].unit() as uow:
            ticket = await uow.add_ticket(_ticket())
            await uow.append_timeline(TimelineEntry(ticket.id, "created", "bob", Platform.SLACK, clock.now()))
        both_read = asyncio.Barrier(2)

        async def assign(store: SqlStore, who: str) -> Ticket:
            async with store.unit() as uow:
                mine = await uow.get_ticket(ticket.id)
                assert mine.version == 1
                if same_transaction:
                    await asyncio.wait_for(both_read.wait(), 10)
                    return await _assign(uow, mine, who)
            await asyncio.wait_for(both_read.wait(), 10)
            async with store.unit() as uow:
                return await _assign(uow, mine, who)

        async def _assign(uow, mine: Ticket, who: str) -> Ticket:
            mine.assignee = who
            saved = await uow.save_ticket(mine)
            await uow.append_timeline(TimelineEntry(ticket.id, "assigned", who, Platform.SLACK, clock.now()))
            return saved

        results = await asyncio.gather(assign(stores[0], "li"), assign(stores[1], "lin"), return_exceptions=True)
        async with stores[0].unit() as uow:
            final = await uow.get_ticket(ticket.id)
            history = [e.actor for e in await uow.timeline(ticket.id)]
        return results, final, history
    finally:
        for store in stores:
            await store.close()


def _check_race(results, final, history) -> None:
    stale = [r for r in results if isinstance(r, StaleTicket)]
    saved = [r for r in results if isinstance(r, Ticket)]
    assert len(stale) == 1 and len(saved) == 1, results
    winner = saved[0].assignee
    assert saved[0].version == 2 and (final.version, final.assignee) == (2, winner)
    assert stale[0].changed_by == winner and stale[0].current.assignee == winner and stale[0].current.version == 2
    assert history == ["bob", winner], "the loser's unit was rolled back"


async def test_two_concurrent_saves_one_wins_the_other_is_told_who(database_url, clock):
    _check_race(*await _race(database_url, clock, same_transaction=False))


async def test_two_open_transactions_saving_one_ticket_one_wins(database_url, clock):
    if database_url.startswith("sqlite"):
        pytest.skip("SQLite runs one writing transaction at a time (BEGIN IMMEDIATE): the second cannot read first")
    _check_race(*await _race(database_url, clock, same_transaction=True))


async def test_a_unit_rolls_back_on_error(store):
    with pytest.raises(RuntimeError):
        async with store.unit() as uow:
            ticket = await uow.add_ticket(_ticket())
            raise RuntimeError("handler bug")
    async with store.unit() as uow:
        assert await uow.get_ticket(ticket.id) is None


async def test_find_open_ticket(store, clock):
    since = clock.now() - timedelta(hours=1)
    async with store.unit() as uow:
        old = await uow.add_ticket(_ticket(updated_at=since - timedelta(hours=5), status=Status.IN_PROGRESS))
        assert await uow.find_open_ticket(platform=Platform.SLACK, user_id="U1", since=since) is None
        waiting = await uow.add_ticket(_ticket(updated_at=since - timedelta(days=5), status=Status.WAITING_CUSTOMER))
        found = await uow.find_open_ticket(platform=Platform.SLACK, user_id="U1", since=since)
        assert found.id == waiting.id, "we asked them: their answer belongs there whenever it comes"
        resolved = await uow.add_ticket(_ticket(updated_at=since, status=Status.RESOLVED))
        assert (await uow.find_open_ticket(platform=Platform.SLACK, user_id="U1", since=since)).id == resolved.id
        await uow.add_ticket(_ticket(status=Status.CLOSED, updated_at=clock.now()))
        await uow.add_ticket(_ticket(requester=Identity(Platform.SLACK, "U2"), updated_at=clock.now()))
        await uow.add_ticket(_ticket(requester=Identity(Platform.WECOM, "U1"), updated_at=clock.now()))
        assert (await uow.find_open_ticket(platform=Platform.SLACK, user_id="U1", since=since)).id == resolved.id
        assert old.id != resolved.id


async def test_find_ticket_by_thread_matches_all_three_parts(store):
    # Ids that a joined "platform|id|thread" key could not tell apart.
    piped = Conversation(platform=Platform.CONSOLE, id="a|b")
    split = Conversation(platform=Platform.CONSOLE, id="a", thread_id="b|")
    async with store.unit() as uow:
        by_agent = await uow.add_ticket(_ticket(agent_thread=THREAD))
        by_piped = await uow.add_ticket(_ticket(customer_conversation=piped))
        by_split = await uow.add_ticket(_ticket(customer_conversation=split))
    async with store.unit() as uow:
        assert (await uow.find_ticket_by_thread(THREAD)).id == by_agent.id
        assert (await uow.find_ticket_by_thread(piped)).id == by_piped.id
        assert (await uow.find_ticket_by_thread(split)).id == by_split.id
        assert await uow.find_ticket_by_thread(THREAD.thread(None)) is None, "a channel is not its thread"
        assert await uow.find_ticket_by_thread(THREAD.thread("999.1")) is None
        assert await uow.find_ticket_by_thread(THREAD.model_copy(update={"platform": Platform.WECOM})) is None
        newer = await uow.add_ticket(_ticket(customer_conversation=THREAD))
        assert (await uow.find_ticket_by_thread(THREAD)).id == newer.id, "the most recent one"


async def test_list_tickets_filters_and_puts_the_urgent_first(store, clock):
    async with store.unit() as uow:
        p2_old = await uow.add_ticket(_ticket(priority=Priority.P2, assignee="a", department="it"))
        clock.advance(minutes=1)
        p0 = await uow.add_ticket(_ticket(priority=Priority.P0, requester=Identity(Platform.WECOM, "w1")))
        p2_new = await uow.add_ticket(_ticket(priority=Priority.P2, assignee="b", created_at=clock.advance(minutes=1)))
        closed = await uow.add_ticket(_ticket(priority=Priority.P1, status=Status.CLOSED, assignee="a"))

        async def ids(**query) -> list[int]:
            return [t.id for t in await uow.list_tickets(TicketQuery(**query))]

        assert await ids() == [p0.id, closed.id, p2_old.id, p2_new.id]
        assert await ids(statuses=OPEN_STATUSES) == [p0.id, p2_old.id, p2_new.id]
        assert await ids(assignee="a") == [closed.id, p2_old.id]
        assert await ids(unassigned=True) == [p0.id]
        assert await ids(requester_platform=Platform.WECOM, requester_user_id="w1") == [p0.id]
        assert await ids(department="it") == [p2_old.id]
        assert await ids(limit=2) == [p0.id, closed.id]


async def test_round_robin_and_open_counts(store):
    async with store.unit() as uow:
        picks = [await uow.rotate("rr:support", ["a", "b", "c"]) for _ in range(4)]
        assert picks == ["a", "b", "c", "a"]
    async with store.unit() as uow:
        assert await uow.rotate("rr:support", ["a", "b", "c"]) == "b", "remembered across units"
        assert await uow.rotate("rr:support", ["a", "b", "x"]) == "x", "continues after the last one chosen"
        assert await uow.rotate("rr:support", ["p", "q"]) == "p", "a roster without the last one starts over"
        assert await uow.rotate("rr:other", ["p", "q"]) == "p"
        with pytest.raises(ValueError):
            await uow.rotate("rr:support", [])
        await uow.add_ticket(_ticket(assignee="a", status=Status.IN_PROGRESS))
        await uow.add_ticket(_ticket(assignee="a", status=Status.WAITING_CUSTOMER))
        await uow.add_ticket(_ticket(assignee="a", status=Status.CLOSED))
        await uow.add_ticket(_ticket(assignee="z", status=Status.NEW))
        assert await uow.open_counts(["a", "b"]) == {"a": 2, "b": 0}
        assert await uow.open_counts([]) == {}


async def test_timeline_in_order_and_append_only(store, clock):
    async with store.unit() as uow:
        ticket = await uow.add_ticket(_ticket())
        for n, kind in enumerate(("created", "assigned", "note")):
            await uow.append_timeline(TimelineEntry(ticket.id, kind, f"p{n}", Platform.SLACK, clock.now(),
                                                    before="x", after="y", text="说明"))
    async with store.unit() as uow:
        entries = await uow.timeline(ticket.id)
    assert [(e.kind, e.actor, e.text) for e in entries] == [("created", "p0", "说明"), ("assigned", "p1", "说明"),
                                                           ("note", "p2", "说明")]
    assert entries[0].at == clock.now() and entries[0].id < entries[1].id
    storage_dir = Path(__file__).resolve().parents[2] / "storage"
    source = "\n".join(p.read_text() for p in storage_dir.rglob("*.py") if "migrations" not in p.parts)
    assert not re.search(r"(update|delete)\(\s*TimelineRow|(UPDATE|DELETE FROM)\s+timeline", source)


async def test_naive_datetimes_are_refused(store):
    with pytest.raises(Exception, match="naive"):
        async with store.unit() as uow:
            await uow.add_ticket(_ticket(first_response_at=datetime(2026, 1, 1, 8, 0)))


# --- inbox ------------------------------------------------------------------------------------------------


async def test_delivery_recorded_once_and_pending_until_done(store, clock):
    assert await store.record_delivery(Platform.SLACK, "Ev1", {"a": 1}) is True
    assert await store.record_delivery(Platform.SLACK, "Ev1", {"a": 1}) is False
    clock.advance(seconds=1)
    assert await store.record_delivery(Platform.WECOM, "Ev1", {"b": [2, "二"]}) is True  # ids are per platform
    assert await store.pending_deliveries() == [(Platform.SLACK, "Ev1", {"a": 1}), (Platform.WECOM, "Ev1", {"b": [2, "二"]})]
    with pytest.raises(RuntimeError):
        async with store.unit() as uow:
            await uow.mark_delivery_done(Platform.SLACK, "Ev1")
            raise RuntimeError("handling failed")
    assert len(await store.pending_deliveries()) == 2, "done only together with its effects"
    async with store.unit() as uow:
        await uow.mark_delivery_done(Platform.SLACK, "Ev1")
    assert await store.pending_deliveries() == [(Platform.WECOM, "Ev1", {"b": [2, "二"]})]


# --- engine and migrations --------------------------------------------------------------------------------


async def test_engine_settings(store, database_url):
    async with store.engine.connect() as connection:
        if _dialect(store) == "sqlite":
            pragmas = [(await connection.exec_driver_sql(f"PRAGMA {name}")).scalar()
                       for name in ("journal_mode", "foreign_keys", "busy_timeout")]
            assert pragmas == ["wal", 1, 5000]
        else:
            schema = (await connection.execute(text("SELECT current_schema()"))).scalar()
            assert schema == split_schema(database_url)[1]


async def test_migrations_match_the_models(database_url):
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            diff = await connection.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(sync, opts={"include_name": in_orm_models}),
                                             Base.metadata))
            revision = await connection.run_sync(lambda sync: MigrationContext.configure(sync).get_current_revision())
    finally:
        await engine.dispose()
    assert diff == []
    assert revision == ScriptDirectory.from_config(alembic_config(database_url)).get_current_head()


async def test_upgrade_is_idempotent_and_replicas_may_start_together(empty_database_url, clock):
    await asyncio.gather(upgrade(empty_database_url), upgrade(empty_database_url))
    await upgrade(empty_database_url)
    store = SqlStore(create_engine(empty_database_url), clock)
    try:
        async with store.unit() as uow:
            assert (await uow.add_ticket(_ticket())).id == 1
    finally:
        await store.close()


async def test_upgrade_keeps_existing_data(empty_database_url, clock):
    """0002 → head splits the conversation keys into columns; rows referenced by others survive on SQLite."""
    url = empty_database_url
    await upgrade(url, "0002")
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            for number, conversation, agent in ((1, '{"platform": "slack", "id": "D1", "kind": "dm", "thread_id": null}', "null"),
                                                (2, "null", '{"platform": "slack", "id": "C1", "kind": "channel", "thread_id": "171.2"}')):
                await connection.execute(text(
                    "INSERT INTO tickets (id, version, title, description, status, priority, category, impact,"
                    " customer_name, customer_tier, tags, requester_platform, requester_user_id, source,"
                    " customer_conversation, agent_thread, created_at, updated_at, sla_pauses)"
                    " VALUES (:id, 1, 't', '', 'new', 'P2', 'other', 'one_user', '', 'normal', '[]', 'slack', 'U1',"
                    " :source, :conversation, :agent, :at, :at, '[]')"
                ), {"id": number, "source": '{"platform": "slack", "id": "D1", "kind": "dm", "thread_id": null}',
                    "conversation": conversation, "agent": agent, "at": clock.now()})
            await connection.execute(text(
                "INSERT INTO timeline (ticket_id, at, kind, actor, platform, visibility)"
                " VALUES (1, :at, 'created', 'bob', 'slack', 'internal')"), {"at": clock.now()})
            await connection.execute(text(
                "INSERT INTO card_placements (ticket_id, target, thread_key, message_ref, viewer_role, language,"
                " created_at) VALUES (2, :target, 'slack|C2|9.9', '9.9', 'agent', 'en', :at)"),
                {"target": '{"platform": "slack", "id": "C2", "kind": "channel", "thread_id": null}', "at": clock.now()})
            if engine.dialect.name == "postgresql":
                await connection.execute(text("SELECT setval('tickets_id_seq', 2)"))
    finally:
        await engine.dispose()
    await upgrade(url)
    store = SqlStore(create_engine(url), clock)
    try:
        async with store.unit() as uow:
            assert (await uow.find_ticket_by_thread(DM)).id == 1
            assert (await uow.find_ticket_by_thread(THREAD)).id == 2
            found = await uow.find_ticket_by_thread(Conversation(platform=Platform.SLACK, id="C2", thread_id="9.9"))
            assert found.id == 2
            assert [e.actor for e in await uow.timeline(1)] == ["bob"]
            assert (await uow.add_ticket(_ticket())).id == 3
        await downgrade(url, "0002")
        await upgrade(url)
        async with store.unit() as uow:
            assert (await uow.find_ticket_by_thread(THREAD)).id == 2, "down and up again keeps the threads"
    finally:
        await store.close()


async def test_upgrade_creates_the_schema_named_in_the_url(empty_database_url):
    if empty_database_url.startswith("sqlite"):
        pytest.skip("schemas are a PostgreSQL matter")
    base, schema = split_schema(empty_database_url)
    url = empty_database_url.replace(schema, f"{schema}_new")
    engine = create_engine(base)
    try:
        await upgrade(url)
        async with engine.connect() as connection:
            tables = (await connection.execute(text(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = :schema"), {"schema": f"{schema}_new"})).scalar()
        assert tables == len(Base.metadata.tables) + 1, "every table and alembic_version, in that schema"
    finally:
        async with engine.begin() as connection:
            await connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}_new" CASCADE'))
        await engine.dispose()
