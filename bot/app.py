"""Composition root: Settings → engine → store → messengers → dispatcher → aiohttp app (imported by nobody)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from aiohttp import web

from bot.config import AppConfig, Settings, load_config
from bot.directory import Directory
from bot.events import Platform
from bot.i18n import translator
from bot.platforms.console import ConsoleHub, ConsoleMessenger, setup_console
from bot.ports import Clock, Context, Messenger, SystemClock
from cards.ticket import ticket_card
from handlers.outbox import OutboxDispatcher
from handlers.router import Router
from storage.db import create_engine
from storage.migrate import upgrade
from storage.store import SqlStore

log = logging.getLogger(__name__)


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


SERVICES = web.AppKey("services", Services)


def card_renderer(directory: Directory, config: AppConfig):
    """(ticket, viewer, language) → neutral Card, for the dispatcher to render at send time."""
    def render(ticket, viewer: str, language: str):
        return ticket_card(ticket, viewer=viewer, directory=directory, categories=config.categories,
                           t=translator(language))
    return render


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
    url = settings.effective_database_url()
    await upgrade(url)
    engine = create_engine(url)
    store = SqlStore(engine, clock)
    directory = Directory(config)
    all_messengers: dict[Platform, Messenger] = dict(messengers or {})
    hub = None
    if settings.console_enabled:
        hub = ConsoleHub()
        all_messengers.setdefault(Platform.CONSOLE, ConsoleMessenger(hub))
    dispatcher = OutboxDispatcher(store=store, messengers=all_messengers, render_card=card_renderer(directory, config),
                                  clock=clock)
    ctx = Context(store=store, clock=clock, directory=directory, config=config, wake_outbox=dispatcher.wake)
    router = Router(ctx)

    app = web.Application()
    app[SERVICES] = Services(settings, config, directory, store, router, dispatcher, all_messengers, hub, engine)
    app.router.add_get("/healthz", _healthz)
    if hub is not None:
        setup_console(app, router=router, directory=directory, config=config, hub=hub)

    async def lifecycle(app: web.Application):
        replayed = await router.replay_pending()
        if replayed:
            log.info("replayed %s unprocessed deliveries", replayed)
        if background:
            dispatcher.start()
        yield
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


def serve(settings: Settings, *, host: str, port: int) -> None:
    """Run the app until interrupted (the CLI's `serve`)."""
    web.run_app(build_app(settings), host=host, port=port, print=None)
