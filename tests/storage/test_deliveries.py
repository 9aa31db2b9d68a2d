"""The deliveries table (the inbox): processed ids past every platform's redelivery window are purged, nothing else."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

from bot.events import Platform


async def _processed(store, delivery_id: str) -> None:
    assert await store.record_delivery(Platform.WECOM, delivery_id, {"id": delivery_id})
    async with store.unit() as uow:
        await uow.mark_delivery_done(Platform.WECOM, delivery_id)


async def test_only_processed_deliveries_older_than_the_cutoff_are_purged(store, clock):
    await _processed(store, "old-done")
    assert await store.record_delivery(Platform.WECOM, "old-pending", {"id": "old-pending"})  # acked, then a crash
    clock.advance(days=5)
    await _processed(store, "recent-done")
    assert await store.purge_deliveries(clock.now() - timedelta(days=4)) == 1
    assert [d for _p, d, _payload in await store.pending_deliveries()] == ["old-pending"], "still waits for its replay"
    assert not await store.record_delivery(Platform.WECOM, "recent-done", {}), "a recent repeat is still a repeat"
    assert await store.record_delivery(Platform.WECOM, "old-done", {}), "the purged id is forgotten"


async def test_the_apps_job_table_purges_deliveries_past_the_retention(store, clock):
    from bot.app import DELIVERY_RETENTION, job_table
    from bot.config import load_config
    from tests.harness import EXAMPLE_CONFIG

    await _processed(store, "ancient")
    clock.advance(seconds=DELIVERY_RETENTION.total_seconds() + 1)
    await _processed(store, "fresh")
    jobs = job_table(store, SimpleNamespace(tick=None), load_config(EXAMPLE_CONFIG))  # the sweep is not run here
    [job] = [j for j in jobs if j.id == "delivery-purge"]
    await job.run()
    assert await store.record_delivery(Platform.WECOM, "ancient", {}) and not await store.record_delivery(
        Platform.WECOM, "fresh", {})
