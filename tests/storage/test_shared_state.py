"""Shared state: one key changed atomically by concurrent tasks and stores (replicas), expired keys read as empty."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from storage.db import create_engine
from storage.store import SqlStore


def _increment(record: dict):
    count = record.get("count", 0) + 1
    return {**record, "count": count}, count


async def test_concurrent_changes_of_one_key_are_applied_one_after_another(store, database_url, clock):
    other = SqlStore(create_engine(database_url), clock)  # a second replica on the same database
    later = clock.now() + timedelta(hours=1)
    try:
        results = await asyncio.gather(*(s.change_state("k", _increment, now=clock.now(), expires_at=later)
                                         for s in [store, other] * 10))
    finally:
        await other.close()
    assert sorted(results) == list(range(1, 21)), "no change was lost or saw a stale value"


async def test_an_expired_key_reads_as_empty_and_is_purged(store, clock):
    soon = clock.now() + timedelta(minutes=1)
    assert await store.change_state("k", _increment, now=clock.now(), expires_at=soon) == 1
    clock.advance(minutes=2)
    later = clock.now() + timedelta(minutes=1)
    assert await store.change_state("k", _increment, now=clock.now(), expires_at=later) == 1, "expired: starts anew"
    assert await store.change_state("gone", lambda record: (None, record), now=clock.now(), expires_at=later) == {}
    clock.advance(minutes=2)
    assert await store.purge_state(clock.now()) == 1
