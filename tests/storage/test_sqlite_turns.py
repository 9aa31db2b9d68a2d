"""How the store shares one database: SQLite's single writer taken in turns, reads beside it, checkpoints aside."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3

import pytest
from sqlalchemy.exc import OperationalError

from bot.events import Conversation, Platform
from bot.tickets import Identity, Ticket


def _ticket(title: str) -> Ticket:
    return Ticket(title=title, requester=Identity(Platform.CONSOLE, "wang-store"),
                  source=Conversation(platform=Platform.CONSOLE, id="wang-store"))


async def test_a_snapshot_reads_but_cannot_write(store):
    async with store.unit() as uow:
        await uow.add_ticket(_ticket("VPN"))
    async with store.snapshot() as view:
        assert (await view.get_ticket(1)).title == "VPN"
    if store.engine.dialect.name == "sqlite":
        with pytest.raises(OperationalError, match="readonly"):
            async with store.snapshot() as view:
                await view.add_ticket(_ticket("written through a reader"))


async def test_a_snapshot_reads_while_a_write_is_under_way(store):
    async with store.unit() as uow:
        await uow.add_ticket(_ticket("VPN"))
    async with store.unit() as uow:
        await uow.add_ticket(_ticket("printer"))  # holds the write lock until the block ends
        async with asyncio.timeout(2):  # a reader queued behind the writer would wait forever here
            async with store.snapshot() as view:
                assert (await view.get_ticket(1)).title == "VPN"
                assert await view.get_ticket(2) is None, "the other transaction has not committed"


async def test_concurrent_units_on_one_store_all_commit(store):
    async def add(n: int) -> None:
        async with store.unit() as uow:
            await uow.add_ticket(_ticket(f"t{n}"))
            await asyncio.sleep(0)  # give the others a chance to barge in
    await asyncio.gather(*(add(n) for n in range(20)))
    async with store.snapshot() as view:
        assert len({(await view.get_ticket(n)).title for n in range(1, 21)}) == 20


async def test_checkpoint_moves_committed_pages_into_the_database_file(store, tmp_path):
    if store.engine.dialect.name != "sqlite":
        pytest.skip("WAL checkpoints are a SQLite matter")
    async with store.unit() as uow:
        await uow.add_ticket(_ticket("kept in the main file"))

    def titles_in_main_file(name: str) -> list[str]:
        # A copy of the database file alone, without its WAL: only what was checkpointed into it.
        copy = tmp_path / name
        shutil.copyfile(store.engine.url.database, copy)
        with sqlite3.connect(copy) as connection:
            return [row[0] for row in connection.execute("SELECT title FROM tickets")]

    assert titles_in_main_file("before.db") == [], "the commit alone leaves the pages in the WAL"
    await store.checkpoint()
    assert titles_in_main_file("after.db") == ["kept in the main file"]
