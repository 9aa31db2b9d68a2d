"""Work that runs after a platform got its answer (WeCom retries after 5 s without one), kept until done."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable


class BackgroundWork:
    """Background tasks held by reference until they finish; `drain()` waits for those under way."""

    def __init__(self):
        self._tasks: set[asyncio.Future] = set()

    def start(self, work: Awaitable) -> None:
        """Run `work` in the background."""
        task = asyncio.ensure_future(work)
        self._tasks.add(task)  # the loop holds tasks weakly: without this one could vanish mid-way
        task.add_done_callback(self._tasks.discard)

    async def drain(self) -> None:
        """Wait for the work under way (e.g. before shutting down)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
