"""kill -9 under load: every command the server acknowledged is processed exactly once after a restart."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

import aiohttp
from aiohttp import web

from tests.harness import EXAMPLE_CONFIG
from tests.platforms.fake_slack import FakeSlack, slack_sign
from tests.platforms.slack_world import SECRET

ROOT = Path(__file__).resolve().parent.parent


def _serve(database: Path, api: str) -> tuple[subprocess.Popen, int]:
    env = {**os.environ, "DATABASE_URL": f"sqlite+aiosqlite:///{database}", "SLACK_BOT_TOKEN": "xoxb-test",
           "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_BASE_URL": api, "CONSOLE_ENABLED": "false",
           "TICKETBOT_CONFIG": str(EXAMPLE_CONFIG)}
    process = subprocess.Popen([sys.executable, "-m", "bot.cli", "serve", "--host", "127.0.0.1", "--port", "0"],
                               env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = process.stdout.readline()  # the banner, once it listens
    found = re.search(r"127\.0\.0\.1:(\d+)", line)
    assert found, f"the server did not start: {line!r}"
    return process, int(found.group(1))


def _command(n: int) -> tuple[bytes, dict]:
    body = urlencode({"token": "x", "team_id": "T0TEAM", "channel_id": f"C{n % 20:04d}", "user_id": "U0ALICE",
                      "user_name": "alice", "command": "/ticket", "text": f"new killed {n}",
                      "response_url": "https://hooks.slack.test/1", "trigger_id": f"kill.{n}"})
    return body.encode(), {"Content-Type": "application/x-www-form-urlencoded", **slack_sign(SECRET, body)}


def _titles(database: Path) -> list[str]:
    with sqlite3.connect(database) as connection:
        return [row[0] for row in connection.execute("SELECT title FROM tickets")]


def _unprocessed(database: Path) -> int:
    with sqlite3.connect(database) as connection:
        return connection.execute("SELECT count(*) FROM deliveries WHERE processed_at IS NULL").fetchone()[0]


async def test_kill_9_mid_load_loses_no_acknowledged_command_and_doubles_none(tmp_path, aiohttp_server):
    fake = FakeSlack()
    api = web.Application()
    api.router.add_post("/api/{method}", fake.handle)
    api_url = str((await aiohttp_server(api)).make_url("/api/"))
    database = tmp_path / "kill.db"
    process, port = await asyncio.to_thread(_serve, database, api_url)
    acknowledged: set[int] = set()
    numbers = iter(range(100_000))
    stop_at = time.monotonic() + 4.0  # a bound, should the kill not end the load
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session:
            async def client() -> None:
                while time.monotonic() < stop_at:
                    n = next(numbers)
                    body, headers = _command(n)
                    try:
                        async with session.post(f"http://127.0.0.1:{port}/slack/events", data=body,
                                                headers=headers) as response:
                            if response.status == 200:
                                acknowledged.add(n)
                    except (aiohttp.ClientError, TimeoutError):
                        return  # the server is gone
            clients = [asyncio.ensure_future(client()) for _ in range(20)]
            while len(acknowledged) < 150:  # well under way: acknowledged ones still waiting to be processed
                await asyncio.sleep(0.01)
                assert time.monotonic() < stop_at, "the load never got going"
            process.send_signal(signal.SIGKILL)
            await asyncio.gather(*clients)
    finally:
        process.kill()
        process.wait()
    left_behind = _unprocessed(database)
    process, _port = await asyncio.to_thread(_serve, database, api_url)  # replays at start-up
    try:
        deadline = time.monotonic() + 30
        while _unprocessed(database) and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        titles = _titles(database)
    finally:
        process.terminate()
        process.wait()
    made = [int(t.removeprefix("killed ")) for t in titles]
    assert left_behind > 0, "the kill found nothing in flight: the test proved nothing"
    assert not acknowledged - set(made), "an acknowledged command was lost"
    assert len(made) == len(set(made)), "a command made two tickets"
    assert _unprocessed(database) == 0
