"""How fast signed Slack slash commands are acknowledged: `ticketbot serve` beside a bare slack-bolt AsyncApp.

Run: `.venv/bin/python -m bench.ack` (SQLite and PostgreSQL; `--databases sqlite` for one). Both servers run as
subprocesses on 127.0.0.1 with the same signing secret and their Web API client pointed at a local fake that
answers at once; the load is signed `/ticket new …` commands from C concurrent clients, each request with a
fresh trigger id (a new delivery, a new ticket). Rounds are interleaved (ticketbot, Bolt, ticketbot, …) and
the figures are medians over rounds. After the last round it waits until every acknowledged command is
processed and its messages sent (`outbox_drain_s`) and checks that each made exactly one ticket.
Last line: `ticketbot_rps=… bolt_rps=… ratio=… p99_ms=… over_3s=… outbox_drain_s=…` (SQLite at the first
concurrency; `pg_*` the same for PostgreSQL; over_3s counts every ack past 3 s, or not 200, at any concurrency).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlencode

import aiohttp
from aiohttp import web

HERE = Path(__file__).resolve().parent.parent
SECRET = "bench-signing-secret-0123456789ab"
TOKEN = "xoxb-bench"
AGENT = "U0ALICE"  # an agent of the example config
PG_URL = "postgresql://postgres@127.0.0.1:5432/test"


# --- a fake Slack Web API that answers at once ---------------------------------------------------------------

async def start_fake_api() -> tuple[web.AppRunner, str, dict]:
    """Serve a fake Web API on 127.0.0.1:0; returns the runner, its base URL and per-method call counts."""
    calls: dict[str, int] = {}
    counter = iter(range(1, 10**9))

    async def handle(request: web.Request) -> web.Response:
        method = request.match_info["method"]
        await request.read()
        calls[method] = calls.get(method, 0) + 1
        ts = f"1700000000.{next(counter):06d}"
        if method == "auth.test":
            return web.json_response({"ok": True, "team_id": "T0BENCH", "user_id": "U0BOT", "bot_id": "B0BOT"})
        if method == "conversations.open":
            return web.json_response({"ok": True, "channel": {"id": "D0BENCH"}})
        return web.json_response({"ok": True, "ts": ts, "message_ts": ts, "channel": "C0"})

    app = web.Application()
    app.router.add_route("*", "/api/{method}", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return runner, f"http://127.0.0.1:{port}/api/", calls


# --- the bare Bolt app (run in its own process with --serve-bolt) --------------------------------------------

def serve_bolt(api: str) -> None:
    """A bare slack-bolt AsyncApp on the aiohttp adapter: same signing secret, a command handler that only acks."""
    from slack_bolt.async_app import AsyncApp
    from slack_sdk.web.async_client import AsyncWebClient

    bolt = AsyncApp(signing_secret=SECRET, client=AsyncWebClient(token=TOKEN, base_url=api))

    @bolt.command("/ticket")
    async def on_command(ack):
        await ack()

    async def main() -> None:
        runner = web.AppRunner(bolt.web_app(path="/slack/events"), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        print(f"bolt listening on 127.0.0.1:{runner.addresses[0][1]}", flush=True)
        await asyncio.Event().wait()

    asyncio.run(main())


# --- servers as subprocesses --------------------------------------------------------------------------------

class Server:
    """A subprocess that prints the port it listens on."""

    def __init__(self, argv: list[str], env: dict, cwd: Path):
        self.log = tempfile.NamedTemporaryFile(prefix="bench-ack-", suffix=".log", delete=False)
        self.proc = subprocess.Popen(argv, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=self.log, text=True)
        self.port = 0

    def wait_ready(self, timeout: float = 60) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            if found := re.search(r"(?:127\.0\.0\.1:|http://127\.0\.0\.1:)(\d+)", line):
                self.port = int(found.group(1))
                return self.port
        raise SystemExit(f"server did not start; see {self.log.name}")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def ticketbot_server(source: Path, database_url: str, api: str) -> Server:
    """`ticketbot serve` from `source` with Slack on, the console off, on port 0."""
    env = {**os.environ, "DATABASE_URL": database_url, "SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": SECRET,
           "SLACK_API_BASE_URL": api, "CONSOLE_ENABLED": "false", "PYTHONPATH": str(source),
           "TICKETBOT_CONFIG": str(source / "ticketbot.example.yaml")}
    server = Server([sys.executable, "-m", "bot.cli", "serve", "--host", "127.0.0.1", "--port", "0"], env, source)
    server.wait_ready()
    return server


def bolt_server(api: str) -> Server:
    """The bare Bolt app in its own process."""
    server = Server([sys.executable, "-m", "bench.ack", "--serve-bolt", api], {**os.environ}, HERE)
    server.wait_ready()
    return server


# --- load --------------------------------------------------------------------------------------------------

def signed_command(n: int, run: str) -> tuple[bytes, dict]:
    """A signed `/ticket new` from an agent, in one of 500 channels, with a trigger id never used before."""
    import hashlib
    import hmac

    body = urlencode({"token": "x", "team_id": "T0BENCH", "channel_id": f"C{n % 500:05d}", "user_id": AGENT,
                      "user_name": "alice", "command": "/ticket", "text": f"new bench ticket {n} p2",
                      "response_url": "https://hooks.slack.test/1", "trigger_id": f"{run}.{n}"}).encode()
    timestamp = str(int(time.time()))
    signature = "v0=" + hmac.new(SECRET.encode(), b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256).hexdigest()
    return body, {"Content-Type": "application/x-www-form-urlencoded", "X-Slack-Request-Timestamp": timestamp,
                  "X-Slack-Signature": signature}


async def load(port: int, concurrency: int, seconds: float) -> dict:
    """C clients posting signed commands back to back for `seconds`; throughput and latencies of the 200s."""
    url = f"http://127.0.0.1:{port}/slack/events"
    run = uuid.uuid4().hex[:8]
    latencies: list[float] = []
    failed = late = 0
    numbers = iter(range(10**9))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency), timeout=timeout) as session:
        async def client() -> None:
            nonlocal failed, late
            while loop.time() < deadline:
                body, headers = signed_command(next(numbers), run)
                started = time.perf_counter()
                try:
                    async with session.post(url, data=body, headers=headers) as response:
                        await response.read()
                        ok = response.status == 200
                except (aiohttp.ClientError, TimeoutError):
                    ok = False
                took = time.perf_counter() - started
                if not ok:
                    failed += 1
                elif took > 3.0:
                    late += 1
                else:
                    latencies.append(took)
        began = loop.time()
        await asyncio.gather(*(client() for _ in range(concurrency)))
        elapsed = loop.time() - began
    latencies.sort()

    def pct(q: float) -> float:
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000 if latencies else float("nan")
    return {"rps": len(latencies) / elapsed, "p50": pct(0.50), "p99": pct(0.99), "over_3s": late + failed,
            "acked": len(latencies) + late}


# --- the database side ---------------------------------------------------------------------------------------

async def fresh_database(kind: str, workdir: Path) -> str:
    """A URL for an empty database: a new SQLite file, or a new PostgreSQL schema."""
    if kind == "sqlite":
        return f"sqlite+aiosqlite:///{workdir / 'bench-ack.db'}"
    import asyncpg

    schema = f"bench_ack_{uuid.uuid4().hex[:8]}"
    connection = await asyncpg.connect(PG_URL)
    await connection.execute(f'CREATE SCHEMA "{schema}"')
    await connection.close()
    return f"{PG_URL.replace('postgresql://', 'postgresql+asyncpg://')}?schema={schema}"


async def drop_database(url: str) -> None:
    if "schema=" in url:
        import asyncpg

        connection = await asyncpg.connect(PG_URL)
        await connection.execute(f'DROP SCHEMA "{url.rsplit("schema=", 1)[1]}" CASCADE')
        await connection.close()


QUERIES = ("SELECT count(*) FROM deliveries WHERE processed_at IS NULL",
           "SELECT count(*) FROM outbox WHERE status IN ('pending', 'sending')",
           "SELECT count(*) FROM tickets")


async def backlog(url: str) -> tuple[int, int, int]:
    """(unprocessed deliveries, unsent outbox rows, tickets), read beside the server without taking its locks."""
    if url.startswith("sqlite"):
        import sqlite3

        def read() -> tuple[int, int, int]:
            connection = sqlite3.connect(f"file:{url.split('///', 1)[1]}?mode=ro", uri=True, timeout=30)
            try:
                return tuple(connection.execute(query).fetchone()[0] for query in QUERIES)
            finally:
                connection.close()
        return await asyncio.to_thread(read)
    import asyncpg

    connection = await asyncpg.connect(PG_URL, server_settings={"search_path": url.rsplit("schema=", 1)[1]})
    try:
        return tuple([await connection.fetchval(query) for query in QUERIES])
    finally:
        await connection.close()


async def drain(url: str, limit: float) -> tuple[float, int, int, int]:
    """Seconds until nothing is left to process or send (capped at `limit`), and what was left then."""
    began = time.monotonic()
    while True:
        pending, unsent, tickets = await backlog(url)
        waited = time.monotonic() - began
        if (pending == 0 and unsent == 0) or waited > limit:
            return waited, pending, unsent, tickets
        await asyncio.sleep(0.5)


# --- the run ------------------------------------------------------------------------------------------------

async def bench_database(kind: str, args, api: str, bolt_port: int, workdir: Path) -> dict:
    url = await fresh_database(kind, workdir)
    server = ticketbot_server(Path(args.source).resolve(), url, api)
    figures: dict = {"acked": 0}
    try:
        figures["acked"] += (await load(server.port, 10, 1.0))["acked"]  # warm-up: not timed, its tickets count
        for concurrency in args.concurrency:
            ours, theirs = [], []
            for _ in range(args.rounds):
                ours.append(await load(server.port, concurrency, args.seconds))
                theirs.append(await load(bolt_port, concurrency, args.seconds))
            median = {key: statistics.median(r[key] for r in ours) for key in ("rps", "p50", "p99")}
            bolt = {key: statistics.median(r[key] for r in theirs) for key in ("rps", "p50", "p99")}
            late = sum(r["over_3s"] for r in ours)
            figures["acked"] += sum(r["acked"] for r in ours)
            figures[concurrency] = (median, bolt, late)
            print(f"{kind} c={concurrency}: ticketbot {median['rps']:.0f} req/s p50 {median['p50']:.1f} ms "
                  f"p99 {median['p99']:.1f} ms, over 3 s or failed {late} | bare Bolt {bolt['rps']:.0f} req/s "
                  f"p50 {bolt['p50']:.1f} ms p99 {bolt['p99']:.1f} ms | ratio {median['rps'] / bolt['rps']:.2f}",
                  flush=True)
        waited, pending, unsent, tickets = await drain(url, args.drain_max)
        figures["drain"] = waited if pending == 0 and unsent == 0 else float("inf")
        print(f"{kind}: drained in {waited:.1f} s (left: {pending} unprocessed, {unsent} unsent); "
              f"{figures['acked']} commands acknowledged, {tickets} tickets made from them", flush=True)
    finally:
        server.stop()
        await drop_database(url)
    return figures


async def main(args) -> None:
    runner, api, _calls = await start_fake_api()
    bolt = bolt_server(api)
    results = {}
    try:
        with tempfile.TemporaryDirectory() as workdir:
            for kind in args.databases:
                results[kind] = await bench_database(kind, args, api, bolt.port, Path(workdir))
    finally:
        bolt.stop()
        await runner.cleanup()
    first = args.concurrency[0]
    parts = []
    for kind, prefix in (("sqlite", ""), ("postgresql", "pg_")):
        if kind not in results:
            continue
        ours, bolt_figures, _late = results[kind][first]
        late = sum(results[kind][c][2] for c in args.concurrency)
        parts += [f"{prefix}ticketbot_rps={ours['rps']:.0f}", f"{prefix}bolt_rps={bolt_figures['rps']:.0f}",
                  f"{prefix}ratio={ours['rps'] / bolt_figures['rps']:.2f}", f"{prefix}p99_ms={ours['p99']:.1f}",
                  f"{prefix}over_3s={late}", f"{prefix}outbox_drain_s={results[kind]['drain']:.1f}"]
    print(" ".join(parts))


def parse(argv: list[str] | None = None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--databases", nargs="+", default=["sqlite", "postgresql"], choices=["sqlite", "postgresql"])
    parser.add_argument("--concurrency", nargs="+", type=int, default=[50, 200])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=10.0, help="length of one round")
    parser.add_argument("--drain-max", type=float, default=120.0, help="longest wait for the backlog to drain")
    parser.add_argument("--source", default=str(HERE), help="the ticketbot source tree to serve (e.g. an older commit)")
    parser.add_argument("--serve-bolt", metavar="API", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


if __name__ == "__main__":
    arguments = parse()
    if arguments.serve_bolt:
        serve_bolt(arguments.serve_bolt)
    else:
        asyncio.run(main(arguments))
