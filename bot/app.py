"""Composition root: Settings → engine → store → messengers → dispatcher → aiohttp app (imported by nobody)."""

from __future__ import annotations

import asyncio
import errno
import gc
import logging
import socket
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web
from sqlalchemy import text
from sqlalchemy.engine import make_url

from bot.config import AppConfig, Settings, StartupError, load_config
from bot.directory import Directory
from bot.events import Platform
from bot.i18n import preload, translator
from bot.platforms.console import ConsoleHub, ConsoleMessenger, setup_console
from bot.platforms.console_gate import Access, console_access, console_token, install_lock
from bot.ports import Clock, Context, Messenger, SystemClock
from bot.sla import SlaPolicy
from cards.ticket import ticket_card
from handlers.outbox import OutboxDispatcher
from handlers.router import Router
from handlers.sla_text import badge
from schedules.scheduler import JobSpec, Scheduler
from schedules.sla import SlaSweep
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
    console_hub: ConsoleHub | None
    engine: object
    sla: SlaPolicy
    sweep: SlaSweep
    scheduler: Scheduler


SERVICES = web.AppKey("services", Services)


def card_renderer(directory: Directory, config: AppConfig, policy: SlaPolicy | None = None, clock: Clock | None = None):
    """(ticket, viewer, language) → neutral Card with its SLA badge, rendered by the dispatcher at send time."""
    def render(ticket, viewer: str, language: str):
        t = translator(language)
        state = policy.state(ticket, clock.now()) if policy and clock else None
        escalated = bool(state and state.breached and not state.paused
                         and ticket.escalation_acked != f"{state.clock.value}:{state.due.isoformat()}")
        return ticket_card(ticket, viewer=viewer, directory=directory, categories=config.categories, t=t,
                           badge=badge(state, ticket, t) if state else None, escalated=escalated)
    return render


def settle_heap() -> None:
    """Move everything start-up built (modules, catalogs, calendars, config) out of the garbage collector's way."""
    # A full collection walks every object; start-up leaves a large heap that lives as long as the process, and
    # walking it held the event loop ~40 ms at a time. Frozen objects are never walked again.
    gc.collect()
    gc.freeze()


def job_table(store: SqlStore, sweep: SlaSweep, config: AppConfig) -> list[JobSpec]:
    """The recurring jobs, with stable ids: the SLA sweep, the database's WAL checkpoint, expired shared state."""
    async def purge_state() -> None:
        await store.purge_state(store.clock.now())

    return [JobSpec("sla-sweep", sweep.tick, every_seconds=config.sla.sweep_seconds),
            JobSpec("db-checkpoint", store.checkpoint, every_seconds=1.0),
            JobSpec("state-purge", purge_state, every_seconds=600.0)]


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
    hub = None
    access = console_access(settings)
    if access in (Access.OPEN, Access.TOKEN):
        hub = ConsoleHub(store)
        all_messengers.setdefault(Platform.CONSOLE, ConsoleMessenger(hub))
    dispatcher = OutboxDispatcher(store=store, messengers=all_messengers,
                                  render_card=card_renderer(directory, config, policy, clock), clock=clock)
    ctx = Context(store=store, clock=clock, directory=directory, config=config, wake_outbox=dispatcher.wake, sla=policy)
    router = Router(ctx)
    sweep = SlaSweep(store=store, policy=policy, directory=directory, config=config, clock=clock,
                     wake_outbox=dispatcher.wake)
    # The table of recurring jobs: stable ids, so a restart replaces rather than duplicates them.
    scheduler = Scheduler(job_table(store, sweep, config))

    app = web.Application()
    app[SERVICES] = Services(settings, config, directory, store, router, dispatcher, all_messengers, hub, engine,
                             policy, sweep, scheduler)
    app.router.add_get("/healthz", _healthz)
    if hub is not None:
        setup_console(app, router=router, directory=directory, config=config, hub=hub, token=console_token(settings))
    elif access is Access.LOCKED:
        install_lock(app, host=settings.host)
    if settings.slack_enabled:
        from bot.platforms.slack import SlackAdapter

        slack = SlackAdapter(settings=settings, router=router, config=config)
        all_messengers.setdefault(Platform.SLACK, slack.messenger)  # the dispatcher holds this same mapping
        slack.mount(app)
    if settings.wecom_enabled:
        from bot.platforms.wecom_setup import setup_wecom

        all_messengers.setdefault(Platform.WECOM, setup_wecom(app, settings=settings, router=router))

    async def lifecycle(app: web.Application):
        replayed = await router.replay_pending()
        if replayed:
            log.info("replayed %s unprocessed deliveries", replayed)
        if background:
            settle_heap()
            await sweep.tick()  # notifications missed while we were down fire once, now
            scheduler.start()
            dispatcher.start()
        yield
        scheduler.shutdown()
        await dispatcher.stop()
        await store.close()

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
    ready(sock.getsockname()[1])
    web.run_app(build_app(settings, config=config), sock=sock, print=None)
