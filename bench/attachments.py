"""Attachment benchmark: screenshots uploaded through the console's real endpoint until the agent sees them.

Starts the real app (console only, the sample config) on a fresh SQLite database (or `--database-url`), then
uploads `--files` pictures of `--mb` megabytes each (distinct bytes) as a customer, one after another, and times
the upload's answer (the delivery recorded and acknowledged) and how long until the picture shows under the ticket's
card in the agents' triage channel (fetched, hashed, stored, recorded, sent by the outbox). A heartbeat measures how
late a 10 ms sleep wakes (the event loop held; the bench's own client shares the loop, so this is an upper bound). Last line:

files=<n> mb=<size> ack_ms=<median> to_agent_ms=<median> to_agent_p90_ms=<x> loop_lag_max_ms=<x> rss_mb=<x>
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import resource
import statistics
import tempfile
import time
from pathlib import Path

import aiohttp
from aiohttp.test_utils import TestClient, TestServer

from bot.app import build_app
from bot.config import load_config
from bot.settings import Settings

EXAMPLE = Path(__file__).resolve().parent.parent / "ticketbot.example.yaml"


async def heartbeat(lags: list[float]) -> None:
    """Sleep 10 ms again and again; record how late each wake-up comes."""
    while True:
        start = time.perf_counter()
        await asyncio.sleep(0.01)
        lags.append(time.perf_counter() - start - 0.01)


async def shown_to_agent(client: TestClient) -> set[str]:
    """The attachment ids shown as pictures in the triage channel."""
    response = await client.get("/console/api/messages", params={"as": "alice", "since": "0"})
    found = (await response.json())["messages"]
    return {n for m in found if m["conversation"] == "triage" for n in re.findall(r'<img data-attachment="(\d+)"', m["html"])}


async def run(files: int, mb: float, database_url: str) -> str:
    os.environ["DATABASE_URL"] = database_url
    client = TestClient(TestServer(await build_app(Settings(), config=load_config(EXAMPLE))))
    await client.start_server()
    pictures = [os.urandom(int(mb * 1024 * 1024)) for _ in range(files)]  # made before the heartbeat starts
    lags: list[float] = []
    beat = asyncio.ensure_future(heartbeat(lags))
    acks, to_agent = [], []
    try:
        for n in range(files):
            data = pictures[n]
            before = await shown_to_agent(client)
            form = aiohttp.FormData()
            for name, value in (("as", "wang-store"), ("conversation", "wang-store"), ("text", f"截图 {n}")):
                form.add_field(name, value)
            form.add_field("file", data, filename=f"shot-{n}.png", content_type="image/png")
            start = time.perf_counter()
            response = await client.post("/console/api/upload", data=form)
            assert response.status == 200, await response.text()
            acks.append(time.perf_counter() - start)
            while len(await shown_to_agent(client)) == len(before):
                await asyncio.sleep(0.005)
            to_agent.append(time.perf_counter() - start)
            print(f"file {n + 1}: ack {acks[-1] * 1000:.0f} ms, shown to the agent after {to_agent[-1] * 1000:.0f} ms",
                  flush=True)
    finally:
        beat.cancel()
        await client.close()
    p90 = sorted(to_agent)[max(0, int(len(to_agent) * 0.9) - 1)]
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return (f"files={files} mb={mb:g} ack_ms={statistics.median(acks) * 1000:.0f} "
            f"to_agent_ms={statistics.median(to_agent) * 1000:.0f} to_agent_p90_ms={p90 * 1000:.0f} "
            f"loop_lag_max_ms={max(lags) * 1000:.1f} rss_mb={rss:.0f}")


def main() -> None:
    """Parse the options, run, print the summary line last."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10)
    parser.add_argument("--mb", type=float, default=5.0)
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file in a temporary folder")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = options.database_url or f"sqlite+aiosqlite:///{folder}/bench.db"
        print(asyncio.run(run(options.files, options.mb, url)))


if __name__ == "__main__":
    main()
