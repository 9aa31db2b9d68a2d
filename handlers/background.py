"""Work that runs after a platform got its answer (WeCom retries after 5 s without one): tasks kept until done,
and the bounded pool that processes deliveries."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)


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


class WorkerPool:
    """A fixed number of workers over a bounded queue: work offered beyond the queue is refused, not piled up.

    Refusing is the back-pressure: a recorded delivery that finds the queue full stays in the inbox, and the
    periodic replay offers it again once the workers caught up (memory stays bounded, however many arrive).
    """

    def __init__(self, *, workers: int = 8, queue: int = 256):
        self.size = workers
        self._queue: asyncio.Queue[Callable[[], Awaitable[object]]] = asyncio.Queue(maxsize=queue)
        self._workers: list[asyncio.Task] = []
        self.busy = 0  # works being run right now

    @property
    def free(self) -> int:
        """How many more works the queue takes now."""
        return self._queue.maxsize - self._queue.qsize()

    def offer(self, work: Callable[[], Awaitable[object]]) -> bool:
        """Queue `work` (a callable making the awaitable); False, and nothing queued, when the queue is full."""
        if not self._workers:
            self._workers = [asyncio.ensure_future(self._run()) for _ in range(self.size)]
        try:
            self._queue.put_nowait(work)
        except asyncio.QueueFull:
            return False
        return True

    async def _run(self) -> None:
        while True:
            work = await self._queue.get()
            self.busy += 1
            try:
                await work()
            except Exception:  # a work's own failure is its business (the router logs and answers); keep going
                log.exception("background work failed")
            finally:
                self.busy -= 1
                self._queue.task_done()

    async def drain(self) -> None:
        """Wait until everything queued so far has run."""
        if self._workers:
            await self._queue.join()

    async def stop(self) -> None:
        """Stop the workers (queued work is dropped: what it stands for is still in the inbox)."""
        for worker in self._workers:
            worker.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        self._workers = []
