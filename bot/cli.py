"""`ticketbot serve | db upgrade | check-config`."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys

from pydantic import ValidationError

from bot import cli_digest, kb_cli
from bot.config import ConfigError, Settings, StartupError, load_config


def _settings(args: argparse.Namespace) -> Settings:
    if getattr(args, "config", None):
        os.environ["TICKETBOT_CONFIG"] = args.config
    return Settings()


def serve(args: argparse.Namespace) -> int:
    """Check config, port and database, then apply migrations and serve until interrupted."""
    from bot.app import serve as run_server
    from bot.app import shown_url
    from bot.platforms.console_gate import Access, console_access, describe

    settings = _settings(args)
    host = args.host if args.host is not None else settings.host
    port = args.port if args.port is not None else settings.port
    # The console decides whether it may open from where the server really listens.
    settings = settings.model_copy(update={"host": host, "port": port})
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # APScheduler logs every run of every job at INFO (twice a second here), and the scheduler and Alembic a line
    # per job and per migration at every start: they would bury what matters, and the banner.
    for noisy in ("apscheduler.executors.default", "apscheduler.scheduler", "alembic.runtime.migration"):
        logging.getLogger(noisy).setLevel(logging.WARNING)

    def banner(bound: int) -> None:
        access = console_access(settings)
        where = (f"console at http://{host}:{bound}/" if access in (Access.OPEN, Access.TOKEN)
                 else f"listening on {host}:{bound}")
        print(f"ticketbot: {where}  ({describe(access)}; database: {shown_url(settings.effective_database_url())})",
              flush=True)

    run_server(settings, ready=banner)
    return 0


def db_upgrade(args: argparse.Namespace) -> int:
    """Bring the database schema to the newest migration."""
    from storage.migrate import upgrade

    settings = _settings(args)
    url = settings.effective_database_url()
    asyncio.run(upgrade(url))
    print(f"database upgraded: {url}")
    return 0


def check_config(args: argparse.Namespace) -> int:
    """Validate the YAML config and the environment; print what is enabled."""
    settings = _settings(args)
    config = load_config(settings.ticketbot_config)
    from bot.platforms.console_gate import Access, console_access, describe

    access = console_access(settings)
    enabled = [name for name, on in ((describe(access), access is not Access.OFF),
                                     ("slack", settings.slack is not None), ("wecom", settings.wecom is not None),
                                     ("dingtalk", settings.dingtalk is not None)) if on]
    print(f"config OK: {settings.ticketbot_config or '(built-in defaults)'}")
    print(f"  people: {len(config.people)}, customers: {len(config.customers)}, departments: {len(config.departments)}, "
          f"routing rules: {len(config.routing)}")
    print(f"  platforms: {', '.join(enabled) or 'none'}")
    if config.digests:
        print(f"  digests: {cli_digest.describe(config)}")
    rules = config.alerts.rules()
    print(f"  alert rules: {', '.join(rules) or 'none'}")
    for note in config.deprecations:
        print(f"  warning: {note}")
    return 0


def outbox(args: argparse.Namespace) -> int:
    """The outbox's backlog and what was given up (`status`), or send the given-up messages again (`retry`)."""
    from bot.ports import SystemClock
    from storage.db import create_engine
    from storage.migrate import upgrade
    from storage.store import SqlStore

    url = _settings(args).effective_database_url()

    async def run() -> None:
        await upgrade(url)
        store = SqlStore(create_engine(url), SystemClock())
        try:
            if args.outbox_command == "retry":
                count = await store.outbox_retry_dead(store.clock.now())
                print(f"{count} given-up message(s) will be sent again")
                return
            backlog = await store.outbox_backlog()
            dead, newest = await store.outbox_dead(limit=10)
            print(f"outbox: {backlog.get('pending', 0)} waiting, {backlog.get('sending', 0)} being sent, "
                  f"{dead} given up")
            for row in newest:
                print(f"  #{row.id} to {row.target_key}: {row.last_error}")
        finally:
            await store.close()

    asyncio.run(run())
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The command-line grammar."""
    parser = argparse.ArgumentParser(prog="ticketbot", description="Support tickets inside enterprise chat.")
    sub = parser.add_subparsers(dest="command", required=True)
    p_serve = sub.add_parser("serve", help="run the bot (HTTP endpoints and the local console)")
    p_serve.add_argument("--host", default=None)
    p_serve.add_argument("--port", type=int, default=None)
    p_serve.add_argument("--config", default=None, help="YAML config file (default: $TICKETBOT_CONFIG)")
    p_serve.set_defaults(func=serve)
    p_db = sub.add_parser("db", help="database maintenance")
    db_sub = p_db.add_subparsers(dest="db_command", required=True)
    p_up = db_sub.add_parser("upgrade", help="apply migrations")
    p_up.add_argument("--config", default=None)
    p_up.set_defaults(func=db_upgrade)
    p_check = sub.add_parser("check-config", help="validate the config file and environment")
    p_check.add_argument("--config", default=None)
    p_check.set_defaults(func=check_config)
    p_outbox = sub.add_parser("outbox", help="the outbox: what waits, what was given up; send it again")
    p_outbox.add_argument("outbox_command", choices=("status", "retry"))
    p_outbox.add_argument("--config", default=None)
    p_outbox.set_defaults(func=outbox)
    kb_cli.add_parser(sub)
    cli_digest.add_parsers(sub)  # `digest` and `stats`
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `ticketbot` console script."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ConfigError as exc:
        print(f"invalid configuration:\n{exc}", file=sys.stderr)
        return 2
    except ValidationError as exc:
        print(f"invalid environment settings:\n{exc}", file=sys.stderr)
        return 2
    except StartupError as exc:
        print(f"ticketbot: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
