"""Faults against the real server: `ticketbot serve` in a subprocess, Slack's Web API a local fake on 127.0.0.1.

Scenarios, in this order, on one database (a fresh SQLite file, or a fresh schema of `--database-url`):

1. outage before first contact: the fake answers every call 500 for `--outage` seconds from before the server
   starts; commands sent meanwhile are counted (acknowledged, and created once the API is back);
2. 429 storm: the fake answers every call 429 `Retry-After: 1` for `--storm` seconds while `--storm-tickets`
   tickets are opened; every ticket's card should arrive, none be given up (`ticketbot_outbox_dead_rows`);
3. concurrent commands: `--concurrent` simultaneous `/ticket note` on one ticket; every one should apply;
4. fuzz: `--fuzz` unsigned and signed-but-malformed requests to the endpoints; none should get a 5xx;
5. kill -9 under load, `--kills` times at a random moment, the server restarted each time; then acknowledged
   commands are compared with the tickets there are (lost, doubled) and triage cards counted per ticket.

Every request goes to 127.0.0.1 only; every loop is bounded in count and time; the server is stopped at the end.
Prints one line per scenario and as its last line:

lost=<n> doubled=<n> refused_commands=<n> fuzz_5xx=<n> dead_after_429=<n>

lost: acknowledged commands whose ticket never came, and tickets whose triage card never came; doubled: tickets
created twice and cards posted twice.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import signal
import socket
import sys
import tempfile
import time
import uuid
from pathlib import Path

import yaml
from aiohttp import ClientError, ClientSession, ClientTimeout, web
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from bot.config import normalize_database_url
from storage.db import SCHEMA_PARAM, create_engine, is_sqlite
from tests.platforms.fake_slack import TEAM, FakeSlack, form, slack_sign

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-faults-signing-secret"
TRIAGE, WORK = "C0TRIAGE", "C0WORK"  # cards go to triage; commands are typed in another channel
AGENTS = ["U0ALICE", "U0LIMING", "U0LINFANG"]
HEADER = re.compile(r"^T-\d+ · (?P<title>.+)$")


class BenchSlack(FakeSlack):
    """The test suite's fake Slack, plus an outage: every call answers 500 until `down_until`."""

    down_until: float = 0.0

    async def handle(self, request: web.Request) -> web.Response:
        if time.monotonic() < self.down_until:
            await request.read()
            return web.json_response({"ok": False, "error": "fatal_error"}, status=500)
        return await super().handle(request)

    def cards(self) -> dict[str, int]:
        """Cards posted to the triage channel, counted per ticket title."""
        counts: dict[str, int] = {}
        for call in self.calls:
            if call.method != "chat.postMessage" or call.status != 200 or call.args.get("channel") != TRIAGE:
                continue
            for block in call.args.get("blocks") or []:
                if block.get("type") != "header":
                    continue
                match = HEADER.match((block.get("text") or {}).get("text") or "")
                if match:
                    counts[match["title"]] = counts.get(match["title"], 0) + 1
        return counts


async def start_fake(fake: BenchSlack) -> tuple[web.AppRunner, str]:
    """Serve the fake on 127.0.0.1 (a free port); returns its runner and the API base URL."""
    app = web.Application()
    app.router.add_post("/api/{method}", fake.handle)
    app.router.add_get("/api/{method}", fake.handle)
    app.router.add_post("/upload/{file_id}", fake.upload)
    app.router.add_post("/hooks/{rest}", lambda request: web.json_response({"ok": True}))  # response_url
    runner = web.AppRunner(app)
    await runner.setup()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    site = web.SockSite(runner, sock)
    await site.start()
    base = f"http://127.0.0.1:{sock.getsockname()[1]}/"
    fake.base_url = base
    return runner, base + "api/"


def free_port() -> int:
    """A port on 127.0.0.1 nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """`ticketbot serve` as a subprocess: started, waited for, stopped, or killed with SIGKILL."""

    def __init__(self, *, env: dict[str, str], config: Path, log: Path):
        self.env, self.config, self.log = env, config, log
        self.port = free_port()
        self.proc: asyncio.subprocess.Process | None = None
        self.url = f"http://127.0.0.1:{self.port}"

    async def start(self, session: ClientSession, *, wait: float = 60.0) -> bool:
        """Start it and wait until /healthz answers 200 (False when it never does within `wait` seconds)."""
        with self.log.open("ab") as log:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "serve", "--config", str(self.config), "--host", "127.0.0.1",
                "--port", str(self.port), env=self.env, stdout=log, stderr=log, cwd=str(self.log.parent))
        return await self.healthy(session, wait=wait)

    async def healthy(self, session: ClientSession, *, wait: float) -> bool:
        """Wait until /healthz answers 200 (False when it never does within `wait` seconds, or the server died)."""
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if self.proc.returncode is not None:
                return False
            try:
                async with session.get(self.url + "/healthz", timeout=ClientTimeout(total=2)) as response:
                    if response.status == 200:
                        return True
            except (ClientError, TimeoutError):
                pass
            await asyncio.sleep(0.1)
        return False

    async def kill(self) -> None:
        """kill -9, as a crash would."""
        if self.proc and self.proc.returncode is None:
            self.proc.send_signal(signal.SIGKILL)
            await self.proc.wait()

    async def stop(self) -> None:
        """A clean stop (SIGTERM), SIGKILL after 15 s."""
        if self.proc and self.proc.returncode is None:
            self.proc.terminate()
            try:
                await asyncio.wait_for(self.proc.wait(), 15)
            except TimeoutError:
                await self.kill()


class Slack:
    """Slack's side of our endpoint: signed slash commands and junk."""

    def __init__(self, session: ClientSession, server: Server, hooks: str):
        self.session, self.server, self.hooks = session, server, hooks
        self._n = 0

    async def command(self, text_: str, *, user: str = "U0ALICE", timeout: float = 10.0) -> tuple[int, str]:
        """One signed `/ticket …`; (HTTP status or 0 when no answer, the answer's text)."""
        self._n += 1
        body = form(token="x", team_id=TEAM, channel_id=WORK, user_id=user, user_name=user.lower(),
                    command="/ticket", text=text_, response_url=f"{self.hooks}hooks/{self._n}",
                    trigger_id=f"bench.{self._n}.{time.time()}")
        return await self.post(body, "application/x-www-form-urlencoded", timeout=timeout)

    async def post(self, body: str | bytes, content_type: str, *, signed: bool = True, path: str = "/slack/events",
                   timeout: float = 10.0) -> tuple[int, str]:
        raw = body.encode() if isinstance(body, str) else body
        headers = {"Content-Type": content_type}
        if signed:
            headers.update(slack_sign(SECRET, raw.decode("utf-8", "replace")))
        try:
            async with self.session.post(self.server.url + path, data=raw, headers=headers,
                                         timeout=ClientTimeout(total=timeout)) as response:
                return response.status, await response.text()
        except (ClientError, TimeoutError, ConnectionError):
            return 0, ""


class Database:
    """Read-only counts from the server's database."""

    def __init__(self, url: str):
        self.engine = create_engine(url)

    async def titles(self, prefix: str) -> dict[str, int]:
        """Tickets per title starting with `prefix`."""
        async with self.engine.connect() as connection:
            rows = await connection.execute(text("SELECT title, count(*) FROM tickets WHERE title LIKE :p "
                                                 "GROUP BY title"), {"p": prefix + "%"})
            return {title: count for title, count in rows.all()}

    async def ticket_number(self, title: str) -> str | None:
        async with self.engine.connect() as connection:
            found = (await connection.execute(text("SELECT id FROM tickets WHERE title = :t"), {"t": title})).first()
            return f"T-{found[0]:06d}" if found else None

    async def notes(self, prefix: str) -> int:
        async with self.engine.connect() as connection:
            return (await connection.execute(text("SELECT count(*) FROM timeline WHERE kind = 'note' AND text LIKE :p"),
                                             {"p": prefix + "%"})).scalar_one()

    async def unsent(self) -> int:
        async with self.engine.connect() as connection:
            return (await connection.execute(text("SELECT count(*) FROM outbox WHERE status IN ('pending', 'sending')"))
                    ).scalar_one()

    async def dead(self) -> int:
        async with self.engine.connect() as connection:
            return (await connection.execute(text("SELECT count(*) FROM outbox WHERE status = 'dead'"))).scalar_one()


async def until(check, timeout: float, step: float = 0.25):
    """Poll `check()` until it is truthy or `timeout` seconds pass; returns its last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = await check()
        if value or time.monotonic() >= deadline:
            return value
        await asyncio.sleep(step)


def say(line: str) -> None:
    print(line, flush=True)


async def outage(slack: Slack, server: Server, fake: BenchSlack, db: Database, session, seconds: float,
                 count: int) -> int:
    """Start during an outage, send commands, bring the API back; returns acknowledged commands with no ticket."""
    fake.down_until = float("inf")  # down from before the start …
    started = await server.start(session, wait=30)
    fake.down_until = time.monotonic() + seconds  # … until `seconds` after the server says it is up
    if not started:
        started = await server.healthy(session, wait=30)
        say(f"outage: the server did not come up during the outage (after it: {'up' if started else 'not up'})")
    acked = []
    for n in range(count):
        if time.monotonic() >= fake.down_until:
            break
        status, _body = await slack.command(f"new outage {n}")
        if status == 200:
            acked.append(f"outage {n}")
        await asyncio.sleep(max(0.0, min(0.2, fake.down_until - time.monotonic())))
    await asyncio.sleep(max(0.0, fake.down_until - time.monotonic()))

    async def created():
        titles = await db.titles("outage ")
        return all(title in titles for title in acked) and titles
    titles = await until(created, 30) or await db.titles("outage ")
    lost = sum(1 for title in acked if title not in titles)
    say(f"outage: 500 from before the start to {seconds:.0f} s after it; {len(acked)} commands acknowledged "
        f"meanwhile, {len(titles)} tickets created, lost={lost}")
    # The other scenarios start from a server that met the API (a restart, as after an outage is over).
    await server.stop()
    if not await server.start(session):
        raise SystemExit("the server did not start again after the outage")
    await slack.command("help")  # its first contact with the API (Slack's SDK checks the token on first use)
    return lost


async def storm(slack: Slack, fake: BenchSlack, db: Database, seconds: float, count: int) -> tuple[int, int, int]:
    """Open tickets while every API call answers 429; returns (tickets without a card, dead rows, doubled cards)."""
    fake.rate_limited_until = time.monotonic() + seconds
    titles = [f"storm {n}" for n in range(count)]
    for title in titles:  # spread over the first third of the storm
        await slack.command(f"new {title}")
        await asyncio.sleep(seconds / 3 / max(count, 1))
    await asyncio.sleep(max(0.0, fake.rate_limited_until - time.monotonic()))

    async def arrived():
        cards = fake.cards()
        return all(title in cards for title in titles)
    await until(arrived, 30 + 3 * count)
    cards = fake.cards()
    missing = sum(1 for title in titles if title not in cards)
    doubled = sum(cards.get(title, 0) - 1 for title in titles if cards.get(title, 0) > 1)
    dead = await db.dead()
    postponed = sum(1 for call in fake.calls if call.status == 429)
    say(f"storm: {seconds:.0f} s of 429 Retry-After: 1 ({postponed} answered 429); {count} tickets, "
        f"{count - missing} cards arrived, {doubled} doubled, dead={dead}")
    return missing, dead, doubled


async def concurrent(slack: Slack, db: Database, count: int) -> int:
    """`count` simultaneous notes on one ticket; returns how many did not apply."""
    await slack.command("new concurrent target")
    number = await until(lambda: db.ticket_number("concurrent target"), 20)
    if number is None:
        say("concurrent: the target ticket was never created")
        return count
    answers = await asyncio.gather(*[slack.command(f"note {number} parallel {n}", user=AGENTS[n % len(AGENTS)])
                                     for n in range(count)])
    acked = sum(1 for status, _ in answers if status == 200)

    async def applied():
        return await db.notes("parallel ") >= count
    await until(applied, 30)
    notes = await db.notes("parallel ")
    say(f"concurrent: {count} simultaneous notes on {number}: {acked} acknowledged, {notes} applied, "
        f"refused={count - notes}")
    return count - notes


async def fuzz(slack: Slack, count: int, rng: random.Random) -> int:
    """Unsigned junk and signed-but-malformed bodies at every endpoint; returns how many got a 5xx."""
    paths = ["/slack/events", "/console/api/send", "/console/api/press"]
    keys = ["type", "command", "user_id", "channel_id", "trigger_id", "text", "event", "actions", "payload", "view"]
    leaves = [None, True, 0, -1, 10 ** 30, "", "x", "\x00", "block_actions", "event_callback", "/ticket", "U0ALICE"]

    def value(depth: int = 0):
        roll = rng.random()
        if depth > 3 or roll < 0.5:
            return rng.choice(leaves)
        if roll < 0.75:
            return [value(depth + 1) for _ in range(rng.randint(0, 3))]
        return {rng.choice(keys): value(depth + 1) for _ in range(rng.randint(0, 4))}
    statuses: dict[int, int] = {}
    for n in range(count):
        kind = n % 4
        if kind == 0:  # random bytes, no signature
            body, content_type, signed = rng.randbytes(rng.randint(0, 300)), rng.choice(
                ["application/json", "application/x-www-form-urlencoded", "text/xml", ""]), False
            path = rng.choice(paths)
        elif kind == 1:  # signed JSON of any shape
            body, content_type, signed, path = json.dumps(value()), "application/json", True, "/slack/events"
        elif kind == 2:  # signed form, fields of any shape (payload= among them)
            fields = {rng.choice(keys): json.dumps(value()) for _ in range(rng.randint(0, 5))}
            body, content_type, signed, path = form(**fields), "application/x-www-form-urlencoded", True, "/slack/events"
        else:  # signed JSON nested deep
            depth = rng.randint(100, 3000)
            body, content_type, signed, path = "[" * depth + "]" * depth, "application/json", True, "/slack/events"
        status, _ = await slack.post(body, content_type, signed=signed, path=path)
        statuses[status] = statuses.get(status, 0) + 1
    server_errors = sum(n for status, n in statuses.items() if status >= 500)
    say(f"fuzz: {count} requests, answers {dict(sorted(statuses.items()))}, 5xx={server_errors}")
    return server_errors


async def kills(slack: Slack, server: Server, fake: BenchSlack, db: Database, session, rounds: int, load: int,
                rng: random.Random) -> tuple[int, int, int]:
    """Load, kill -9 at a random moment, restart; returns (lost commands and cards, doubled tickets, doubled cards)."""
    acked: list[str] = []
    fake.answer_delay = 0.02  # answers take a moment to come back: a kill finds some sends in flight
    workers = 4
    for round_ in range(rounds):
        kill_at = time.monotonic() + rng.uniform(0.2, 2.0)

        async def worker(name: str, round_: int = round_) -> None:
            # At most `load` commands a round: every ticket's card goes to one channel, paced at one a second.
            for n in range(max(1, load // workers)):
                title = f"kill {round_}-{name}-{n}"
                status, _ = await slack.command(f"new {title}", timeout=5)
                if status == 200:
                    acked.append(title)
                elif status == 0:
                    return  # killed
                await asyncio.sleep(rng.uniform(0.05, 0.25))
        tasks = [asyncio.create_task(worker(str(w))) for w in range(workers)]
        await asyncio.sleep(max(0.0, kill_at - time.monotonic()))
        await server.kill()
        await asyncio.gather(*tasks)
        if not await server.start(session):
            say(f"kill: the server did not come back after round {round_}")
            break
    fake.answer_delay = 0.0

    async def settled():
        titles = await db.titles("kill ")
        return all(title in titles for title in acked) and await db.unsent() == 0
    # Rows leased by a killed server wait for their lease (60 s) to run out; the triage cards go one a second.
    await until(settled, 90 + 1.5 * len(acked), step=1.0)
    titles = await db.titles("kill ")
    lost = sum(1 for title in set(acked) if title not in titles)
    doubled = sum(count - 1 for count in titles.values() if count > 1)
    cards = fake.cards()
    doubled_cards = sum(cards[title] - 1 for title in titles if cards.get(title, 0) > 1)
    missing_cards = sum(1 for title in titles if title not in cards)
    say(f"kill -9: {rounds} kills under load; {len(acked)} commands acknowledged, {len(titles)} tickets, "
        f"lost={lost}, doubled tickets={doubled}, cards doubled={doubled_cards}, cards missing={missing_cards}, "
        f"in doubt looked up={len(fake.of('conversations.history'))}")
    return lost + missing_cards, doubled, doubled_cards


def write_config(folder: Path) -> Path:
    """The sample config with Slack's triage channel set."""
    config = yaml.safe_load((ROOT / "ticketbot.example.yaml").read_text())
    config.setdefault("triage_channels", {})["slack"] = TRIAGE
    path = folder / "faults.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True))
    return path


async def fresh_database(folder: Path, url: str | None) -> tuple[str, str | None]:
    """(the server's database URL, the PostgreSQL schema made for it or None)."""
    if url is None:
        return f"sqlite+aiosqlite:///{folder / 'faults.db'}", None
    base = normalize_database_url(url)
    if is_sqlite(base):
        return base, None
    schema = f"faults_{uuid.uuid4().hex[:10]}"
    admin = create_async_engine(base)
    async with admin.begin() as connection:
        await connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    await admin.dispose()
    return make_url(base).update_query_dict({SCHEMA_PARAM: schema}).render_as_string(hide_password=False), schema


async def drop_schema(url: str, schema: str) -> None:
    admin = create_async_engine(normalize_database_url(url))
    async with admin.begin() as connection:
        await connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    await admin.dispose()


async def main(args: argparse.Namespace) -> None:
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="ticketbot-faults-") as tmp:
        folder = Path(tmp)
        database_url, schema = await fresh_database(folder, args.database_url)
        fake = BenchSlack()
        runner, api = await start_fake(fake)
        env = {key: value for key, value in os.environ.items() if not key.startswith(("SLACK_", "WECOM_", "DINGTALK_"))}
        env.update(DATABASE_URL=database_url, SLACK_BOT_TOKEN="xoxb-bench", SLACK_SIGNING_SECRET=SECRET,
                   SLACK_API_BASE_URL=api, PYTHONPATH=str(ROOT))
        env.pop("CONSOLE_TOKEN", None)
        server = Server(env=env, config=write_config(folder), log=folder / "server.log")
        db = Database(database_url)
        async with ClientSession() as session:
            slack = Slack(session, server, fake.base_url)
            try:
                lost = await outage(slack, server, fake, db, session, args.outage, args.outage_commands)
                missing, dead, storm_doubled = await storm(slack, fake, db, args.storm, args.storm_tickets)
                refused = await concurrent(slack, db, args.concurrent)
                server_errors = await fuzz(slack, args.fuzz, rng)
                kill_lost, doubled_tickets, doubled_cards = await kills(slack, server, fake, db, session, args.kills,
                                                                        args.kill_load, rng)
            finally:
                await server.stop()
                await db.engine.dispose()
                await runner.cleanup()
                if schema:
                    await drop_schema(args.database_url, schema)
                if args.keep_log:
                    Path(args.keep_log).write_bytes((folder / "server.log").read_bytes())
        # lost: acknowledged commands without their ticket, and tickets whose card never came.
        say(f"lost={lost + kill_lost + missing} doubled={doubled_tickets + doubled_cards + storm_doubled} "
            f"refused_commands={refused} fuzz_5xx={server_errors} dead_after_429={dead}")


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="PostgreSQL to run on (a fresh schema is made and dropped)")
    parser.add_argument("--outage", type=float, default=8.0, help="seconds of 500 from before the server starts")
    parser.add_argument("--outage-commands", type=int, default=10)
    parser.add_argument("--storm", type=float, default=30.0, help="seconds of 429 Retry-After: 1")
    parser.add_argument("--storm-tickets", type=int, default=30)
    parser.add_argument("--concurrent", type=int, default=50)
    parser.add_argument("--fuzz", type=int, default=400)
    parser.add_argument("--kills", type=int, default=5)
    parser.add_argument("--kill-load", type=int, default=16, help="commands sent in each round before its kill, at most")
    parser.add_argument("--seed", type=int, default=None, help="for the kill moments and the fuzz (default: random)")
    parser.add_argument("--keep-log", help="copy the server's log here")
    return parser.parse_args(argv)


if __name__ == "__main__":
    asyncio.run(main(parse()))
