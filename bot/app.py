"""Composition root: Settings → engine → store → messengers → dispatcher → aiohttp app (imported by nobody)."""

from __future__ import annotations

import asyncio
import errno
import gc
import importlib
import logging
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from bot.attachments import ContentStore, Files
from bot.config import AppConfig, Settings, StartupError, load_config
from bot.directory import Directory
from bot.events import Platform
from bot.i18n import preload
from bot.metrics import OUTBOX_DEAD_ROWS, OUTBOX_UNSENT, REGISTRY
from bot.platforms import Wiring
from bot.platforms.console_gate import Access, console_access, install_lock
from bot.ports import Clock, Context, Messenger, SystemClock
from bot.sla import SlaPolicy
from handlers.attachments import Desk
from handlers.router import Router
from schedules.alerts import AlertRunner
from schedules.card_kinds import card_kinds
from schedules.digests import DigestRunner
from schedules.outbox import OutboxDispatcher
from schedules.providers import deadline_sweep
from schedules.scheduler import JobSpec, Scheduler
from schedules.sweep import DeadlineSweep
from storage.attachments import DatabaseContent
from storage.db import create_engine
from storage.migrate import upgrade
from storage.store import SqlStore

log = logging.getLogger(__name__)
DATABASE_TIMEOUT = 10.0  # seconds serve waits for the database before saying it cannot reach it


@dataclass
class Services:
    """Everything the running app holds, reachable from tests as app[SERVICES]."""

    settings: Settings
    config: AppConfig
    directory: Directory
    store: SqlStore
    router: Router
    dispatcher: OutboxDispatcher
    messengers: dict[Platform, Messenger]
    engine: object
    sla: SlaPolicy
    sweep: DeadlineSweep
    scheduler: Scheduler


SERVICES = web.AppKey("services", Services)

# The platforms: when each is on, and the module whose mount(app, router, settings, wiring) returns its messenger
# (imported only when on, so an unused platform's SDK is never loaded).
PLATFORMS: list[tuple[Platform, Callable[[Settings], bool], str]] = [
    # The console: open on loopback, behind CONSOLE_TOKEN elsewhere (locked without one; see console_gate).
    (Platform.CONSOLE, lambda settings: console_access(settings) in (Access.OPEN, Access.TOKEN),
     "bot.platforms.console"),
    (Platform.SLACK, lambda settings: settings.slack is not None, "bot.platforms.slack"),
    (Platform.WECOM, lambda settings: settings.wecom is not None, "bot.platforms.wecom_setup"),
    (Platform.DINGTALK, lambda settings: settings.dingtalk is not None, "bot.platforms.dingtalk_setup"),
]


def content_store(settings: Settings, store: SqlStore) -> ContentStore:
    """Where attachments' bytes go: an S3-compatible bucket with ATTACHMENTS_URL=s3://bucket/prefix, else the
    database (shared by every replica that shares it)."""
    if settings.attachments_url:
        from storage.s3_content import S3Content  # only loaded (with its client library) when asked for

        return S3Content.from_url(settings.attachments_url)
    return DatabaseContent(store)


def settle_heap() -> None:
    """Move everything start-up built (modules, catalogs, calendars, config) out of the garbage collector's way."""
    # A full collection walks every object; start-up leaves a large heap that lives as long as the process, and
    # walking it held the event loop ~40 ms at a time. Frozen objects are never walked again.
    gc.collect()
    gc.freeze()


# How long a processed delivery id is remembered: longer than any platform redelivers (Slack retries within
# ~5 min, WeCom within ~15 s and refuses callbacks over 5 min old; 微信客服's sync_msg re-serves up to 3 days of
# messages after a lost cursor), so a repeat still finds its id; older ones only grow the table.
DELIVERY_RETENTION = timedelta(days=4)


def job_table(store: SqlStore, sweep: DeadlineSweep, config: AppConfig) -> list[JobSpec]:
    """The recurring jobs, with stable ids: the SLA sweep, the database's WAL checkpoint, expired shared state,
    delivery ids past every platform's redelivery window."""
    async def purge_state() -> None:
        await store.purge_state(store.clock.now())

    async def purge_deliveries() -> None:
        await store.purge_deliveries(store.clock.now() - DELIVERY_RETENTION)

    return [JobSpec("sla-sweep", sweep.tick, every_seconds=config.sla.sweep_seconds),
            JobSpec("db-checkpoint", store.checkpoint, every_seconds=1.0),
            JobSpec("state-purge", purge_state, every_seconds=600.0),
            JobSpec("delivery-purge", purge_deliveries, every_seconds=3600.0)]


SHUTDOWN_STEP_SECONDS = 15.0  # a stop that takes longer is left behind: a SIGTERM must end the process


async def _bounded(what: str, work) -> None:
    """Run one shutdown step, waiting at most SHUTDOWN_STEP_SECONDS; past that, log where every task waits.

    Nothing is lost by going on: what was not marked sent stays leased and is looked up or sent again at the next
    start, and what was not processed stays in the inbox.
    """
    task = asyncio.ensure_future(work)
    done, _pending = await asyncio.wait({task}, timeout=SHUTDOWN_STEP_SECONDS)
    if task in done:
        task.result()  # a failure of the step itself is raised as before
        return
    stacks = []
    for other in asyncio.all_tasks():
        frames = other.get_stack(limit=6)
        stacks.append(f"{other.get_name()}: " + " <- ".join(f"{f.f_code.co_filename}:{f.f_lineno}" for f in frames))
    log.error("shutdown: %s did not finish within %.0f s; going on without it. Tasks:\n%s", what,
              SHUTDOWN_STEP_SECONDS, "\n".join(stacks))


async def build_app(
    settings: Settings,
    *,
    config: AppConfig | None = None,
    clock: Clock | None = None,
    messengers: dict[Platform, Messenger] | None = None,
    background: bool = True,
) -> web.Application:
    """Build the aiohttp application: migrate, wire the core, mount the console and configured platforms."""
    config = config or load_config(settings.ticketbot_config)
    clock = clock or SystemClock()
    preload()
    url = settings.effective_database_url()
    await upgrade(url)
    engine = create_engine(url)
    store = SqlStore(engine, clock)
    directory = Directory(config)
    policy = SlaPolicy(config)
    all_messengers: dict[Platform, Messenger] = dict(messengers or {})
    content = content_store(settings, store)
    dispatcher = OutboxDispatcher(store=store, messengers=all_messengers, clock=clock,
                                  card_kinds=card_kinds(directory=directory, config=config, policy=policy, clock=clock,
                                                        content=content))
    # The platforms' messengers fetch the files their payloads name (the same mapping, filled as they mount).
    files = Files(content=content, limits=config.attachments, fetchers=all_messengers)
    ctx = Context(store=store, clock=clock, directory=directory, config=config, wake_outbox=dispatcher.wake, sla=policy,
                  files=files)
    router = Router(ctx)
    sweep = deadline_sweep(store=store, policy=policy, directory=directory, config=config, clock=clock,
                      wake_outbox=dispatcher.wake)
    digests = DigestRunner(store=store, config=config, directory=directory, clock=clock, platforms=all_messengers,
                           wake=dispatcher.wake)
    alerts = AlertRunner(store=store, config=config, directory=directory, clock=clock, platforms=all_messengers,
                         wake=dispatcher.wake)
    # The table of recurring jobs: stable ids, so a restart replaces rather than duplicates them.
    scheduler = Scheduler(job_table(store, sweep, config) + digests.jobs() + alerts.jobs())

    app = web.Application()
    app[SERVICES] = Services(settings, config, directory, store, router, dispatcher, all_messengers, engine,
                             policy, sweep, scheduler)
    app.router.add_get("/healthz", _healthz)
    app.router.add_get("/metrics", _metrics)
    wiring = Wiring(config=config, directory=directory, state=store, clock=clock, console_log=store, files=Desk(ctx))
    for platform, enabled, module in PLATFORMS:
        if enabled(settings):
            messenger = importlib.import_module(module).mount(app, router, settings, wiring)
            all_messengers.setdefault(platform, messenger)  # the dispatcher holds this same mapping
    if console_access(settings) is Access.LOCKED:
        install_lock(app, host=settings.host)  # say why the console is not there, rather than a bare 404

    async def lifecycle(app: web.Application):
        if background:
            settle_heap()
            await sweep.tick()  # notifications missed while we were down fire once, now
            await digests.catch_up()  # and a digest run missed within its grace window
            await alerts.tick()  # and a periodic alert that came due while we were down
            scheduler.start()
            dispatcher.start()
            # What was acknowledged and not processed before a stop is worked off through the pool beside new
            # requests (catch_up: the first rounds take every waiting delivery, young or old), not before serving:
            # a backlog of thousands would otherwise keep the port from answering for minutes.
            router.start(catch_up=True)
        else:
            replayed = await router.replay_pending()
            if replayed:
                log.info("replayed %s unprocessed deliveries", replayed)
        yield
        # Jobs end before what they use: a sweep tick cut off by the database closing under it hung a stop once.
        await _bounded("stopping the scheduled jobs", scheduler.stop())
        await _bounded("stopping the processing pool", router.stop())
        await _bounded("stopping the outbox dispatcher", dispatcher.stop())
        await _bounded("closing the database", store.close())

    app.cleanup_ctx.append(lifecycle)
    return app


async def _healthz(request: web.Request) -> web.Response:
    """200 when the database answers, 503 otherwise."""
    services = request.app[SERVICES]
    try:
        await services.store.ping()
    except Exception as exc:  # any failure to reach the database means unhealthy
        return web.json_response({"status": "error", "database": str(exc)}, status=503)
    return web.json_response({"status": "ok"})


async def _metrics(request: web.Request) -> web.Response:
    """Counters of this process and the outbox backlog of all replicas, in the Prometheus text format."""
    backlog = await request.app[SERVICES].store.outbox_backlog()
    OUTBOX_UNSENT.set(backlog.get("pending", 0) + backlog.get("sending", 0))
    OUTBOX_DEAD_ROWS.set(backlog.get("dead", 0))
    return web.Response(body=generate_latest(REGISTRY), headers={"Content-Type": CONTENT_TYPE_LATEST})


def listen(host: str, port: int) -> socket.socket:
    """The listening socket, bound before anything else starts, so a busy port is one line and not a traceback."""
    try:
        family = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0][0]
        return socket.create_server((host, port), family=family, backlog=128)
    except socket.gaierror as exc:
        raise StartupError(f"cannot listen on {host}:{port}: unknown host ({exc.strerror})") from None
    except OSError as exc:
        reason = ("the port is already in use (another ticketbot? choose another with PORT or --port)"
                  if exc.errno == errno.EADDRINUSE else exc.strerror or str(exc))
        raise StartupError(f"cannot listen on {host}:{port}: {reason}") from None


def shown_url(url: str) -> str:
    """A database URL fit to print: the password masked."""
    return make_url(url).render_as_string(hide_password=True)


async def check_database(url: str, timeout: float = DATABASE_TIMEOUT) -> None:
    """Raise StartupError unless the database at `url` answers within `timeout` seconds."""
    engine = create_engine(url)
    shown = shown_url(url)

    async def ping() -> None:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    try:
        await asyncio.wait_for(ping(), timeout)
    except TimeoutError:
        raise StartupError(f"cannot reach the database {shown}: no answer within {timeout:.0f} s") from None
    except Exception as exc:  # whatever the driver raises: refused, unknown host, wrong password, no such file
        cause = getattr(exc, "orig", None) or exc  # SQLAlchemy wraps the driver's error in a longer message
        reason = " ".join(str(cause).split()) or type(cause).__name__
        raise StartupError(f"cannot reach the database {shown}: {reason}") from None
    finally:
        await engine.dispose()


def serve(settings: Settings, *, ready: Callable[[int], None] = lambda port: None) -> None:
    """Check config, port and database, call `ready(port)`, run until interrupted (the CLI's `serve`)."""
    # A failed check raises ConfigError or StartupError before the banner, and the port is let go again.
    config = load_config(settings.ticketbot_config)
    SlaPolicy(config)  # builds every calendar and duration as the app will
    sock = listen(settings.host, settings.port)
    try:
        asyncio.run(check_database(settings.effective_database_url()))
    except BaseException:
        sock.close()
        raise

    async def started() -> web.Application:
        app = await build_app(settings, config=config)

        async def announce(_app: web.Application) -> None:  # the last start-up step: nothing logged scrolls it away
            ready(sock.getsockname()[1])
        app.on_startup.append(announce)
        return app

    web.run_app(started(), sock=sock, print=None,
                access_log=logging.getLogger("aiohttp.access") if settings.access_log else None)
