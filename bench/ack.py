"""How fast signed Slack slash commands are acknowledged: `ticketbot serve` beside a bare slack-bolt AsyncApp.

Run: `.venv/bin/python -m bench.ack` (SQLite and PostgreSQL; `--databases sqlite` for one). Both servers run as
subprocesses on 127.0.0.1 with the same signing secret and their Web API client pointed at a local fake that
answers at once; the load is signed `/ticket new …` commands from C concurrent clients, each request with a
fresh trigger id (a new delivery, a new ticket). Rounds are interleaved (ticketbot, Bolt, ticketbot, …) and
the figures are medians over rounds. The load is raw keep-alive HTTP/1.1 (a lean client: aiohttp's would take
the servers' CPU), the fake API a process of its own. Then, on a fresh database, a burst of `--burst` commands
(2,000: what the issue's 20 s burst was) is posted as fast as it is acknowledged, and the bench waits until every
one is processed and its messages sent (`outbox_drain_s`, from the burst's end), checking one ticket each.
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


def serve_fake() -> None:
    """The fake Web API in a process of its own, so answering the servers' calls never delays the load's clock."""
    async def main() -> None:
        _runner, api, _calls = await start_fake_api()
        print(f"fake API listening on {api}", flush=True)
        await asyncio.Event().wait()

    asyncio.run(main())


def fake_server() -> tuple[Server, str]:
    """The fake Web API as a subprocess; with its base URL."""
    server = Server([sys.executable, "-m", "bench.ack", "--serve-fake"], {**os.environ}, HERE)
    server.wait_ready()
    return server, f"http://127.0.0.1:{server.port}/api/"


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


class Connection:
    """One keep-alive HTTP/1.1 connection that posts pre-built requests: a lean load generator.

    aiohttp's client costs more CPU per request than the servers measured here; on a 2-core machine that
    cost is taken from them (both alike), so the load is raw bytes over a stream instead.
    """

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int) -> Connection:
        """Connect to 127.0.0.1:port."""
        return cls(*await asyncio.open_connection("127.0.0.1", port))

    async def post(self, request: bytes) -> int:
        """Send one request, read its whole answer; the status code."""
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = re.search(rb"(?i)\r\ncontent-length: *(\d+)", head)
        if length:
            await self.reader.readexactly(int(length.group(1)))
        elif re.search(rb"(?i)\r\ntransfer-encoding: *chunked", head):
            while True:
                size = int((await self.reader.readline()).strip(), 16)
                await self.reader.readexactly(size + 2)
                if size == 0:
                    break
        return status

    def close(self) -> None:
        """Close the connection."""
        self.writer.close()


def request_bytes(port: int, body: bytes, headers: dict) -> bytes:
    """A raw HTTP/1.1 POST to /slack/events."""
    lines = ["POST /slack/events HTTP/1.1", f"Host: 127.0.0.1:{port}", f"Content-Length: {len(body)}",
             *(f"{name}: {value}" for name, value in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def load(port: int, concurrency: int, seconds: float, total: int | None = None) -> dict:
    """C clients posting signed commands back to back for `seconds` (or until `total` were posted); throughput and
    latencies of the 200s."""
    run = uuid.uuid4().hex[:8]
    latencies: list[float] = []
    failed = late = 0
    numbers = iter(range(total if total is not None else 10**9))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds

    async def client() -> None:
        nonlocal failed, late
        connection = None
        while loop.time() < deadline:
            number = next(numbers, None)
            if number is None:
                break
            request = request_bytes(port, *signed_command(number, run))
            started = time.perf_counter()
            try:
                connection = connection or await Connection.open(port)
                ok = await asyncio.wait_for(connection.post(request), 10) == 200
            except (OSError, asyncio.IncompleteReadError, ValueError, TimeoutError):
                ok = False
                if connection is not None:
                    connection.close()
                connection = None
            took = time.perf_counter() - started
            if not ok:
                failed += 1
            elif took > 3.0:
                late += 1
            else:
                latencies.append(took)
        if connection is not None:
            connection.close()
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
        return f"sqlite+aiosqlite:///{workdir / f'bench-ack-{uuid.uuid4().hex[:8]}.db'}"
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
    figures: dict = {}
    try:
        await load(server.port, 10, 1.0)  # warm-up, not timed
        for concurrency in args.concurrency:
            ours, theirs = [], []
            for _ in range(args.rounds):
                ours.append(await load(server.port, concurrency, args.seconds))
                theirs.append(await load(bolt_port, concurrency, args.seconds))
            median = {key: statistics.median(r[key] for r in ours) for key in ("rps", "p50", "p99")}
            bolt = {key: statistics.median(r[key] for r in theirs) for key in ("rps", "p50", "p99")}
            late = sum(r["over_3s"] for r in ours)
            figures[concurrency] = (median, bolt, late)
            print(f"{kind} c={concurrency}: ticketbot {median['rps']:.0f} req/s p50 {median['p50']:.1f} ms "
                  f"p99 {median['p99']:.1f} ms, over 3 s or failed {late} | bare Bolt {bolt['rps']:.0f} req/s "
                  f"p50 {bolt['p50']:.1f} ms p99 {bolt['p99']:.1f} ms | ratio {median['rps'] / bolt['rps']:.2f}",
                  flush=True)
    finally:
        server.stop()
        await drop_database(url)
    figures["drain"] = await burst(kind, args, api, workdir) if args.burst > 0 else float("nan")
    return figures


async def burst(kind: str, args, api: str, workdir: Path) -> float:
    """A burst of `--burst` commands on a fresh database at the first concurrency, as fast as they are acknowledged;
    then the seconds from its end until every one is processed and its messages sent (inf past `--drain-max`),
    and a check that each made exactly one ticket."""
    url = await fresh_database(kind, workdir)
    server = ticketbot_server(Path(args.source).resolve(), url, api)
    try:
        posted = await load(server.port, args.concurrency[0], 600.0, total=args.burst)
        waited, pending, unsent, tickets = await drain(url, args.drain_max)
        drained = pending == 0 and unsent == 0
        print(f"{kind} burst: {posted['acked']} commands acknowledged in {args.burst / posted['rps']:.1f} s "
              f"({posted['rps']:.0f} req/s); drained {'in' if drained else 'not within'} {waited:.1f} s "
              f"(left: {pending} unprocessed, {unsent} unsent); {tickets} tickets made from them", flush=True)
        if tickets != posted["acked"] and drained:
            print(f"{kind} burst: MISMATCH {posted['acked']} acknowledged, {tickets} tickets", flush=True)
    finally:
        server.stop()
        await drop_database(url)
    return waited if drained else float("inf")


async def main(args) -> None:
    fake, api = fake_server()
    bolt = bolt_server(api)
    results = {}
    try:
        with tempfile.TemporaryDirectory() as workdir:
            for kind in args.databases:
                results[kind] = await bench_database(kind, args, api, bolt.port, Path(workdir))
    finally:
        bolt.stop()
        fake.stop()
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
    parser.add_argument("--burst", type=int, default=2000, help="commands in the burst whose drain is timed (0: no burst)")
    parser.add_argument("--drain-max", type=float, default=300.0, help="longest wait for the burst to drain")
    parser.add_argument("--source", default=str(HERE), help="the ticketbot source tree to serve (e.g. an older commit)")
    parser.add_argument("--serve-bolt", metavar="API", help=argparse.SUPPRESS)
    parser.add_argument("--serve-fake", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


if __name__ == "__main__":
    arguments = parse()
    if arguments.serve_bolt:
        serve_bolt(arguments.serve_bolt)
    elif arguments.serve_fake:
        serve_fake()
    else:
        asyncio.run(main(arguments))
