"""`ticketbot digest [NAME] …` and `ticketbot stats …`: the managers' figures on the command line (one code path).

Both print the figures (text, markdown, or json under the stable keys of bot.kpis.as_json) without sending;
`digest --send` claims the run of (NAME, period) as the scheduler would, so a digest sent by hand is not sent again
by the cron (the running bot's dispatcher posts the cards).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

from bot.config import load_config
from bot.digest_config import DigestConfig, DigestScope
from bot.directory import Directory
from bot.i18n import translator
from bot.kpis import PeriodError, as_json, parse_period
from bot.ports import SystemClock
from cards.digest import Figures, figures_text, names

FORMATS = ("text", "json", "markdown")


def add_parsers(sub) -> None:
    """Register `digest` and `stats` on the CLI's subcommands."""
    for command, help_text in (("digest", "print a digest (and its chart); --send sends it to its recipients"),
                               ("stats", "print the figures of a period and scope")):
        parser = sub.add_parser(command, help=help_text)
        if command == "digest":
            parser.add_argument("name", nargs="?", help="a digest of the config (default: all tickets, yesterday)")
            parser.add_argument("--chart", metavar="FILE.png", help="write the 14-day chart to this file")
            parser.add_argument("--send", action="store_true", help="send it (claims the run: sent once per period)")
        parser.add_argument("--period", default=None,
                            help="today | yesterday | week | last-week | month | last-month | YYYY-MM-DD..YYYY-MM-DD")
        parser.add_argument("--department", default=None)
        parser.add_argument("--agent", default=None, help="a person's key")
        parser.add_argument("--priority", default=None, choices=("P0", "P1", "P2", "P3"))
        parser.add_argument("--tier", default=None, choices=("vip", "normal"))
        parser.add_argument("--format", default="text", choices=FORMATS)
        parser.add_argument("--lang", default=None, choices=("zh-CN", "en"))
        parser.add_argument("--config", default=None)
        parser.set_defaults(func=run)


def _digest(args: argparse.Namespace, config) -> DigestConfig:
    """The named digest of the config (its scope narrowed by the flags), or an ad-hoc one over all tickets."""
    if getattr(args, "name", None):
        found = next((d for d in config.digests if d.name == args.name), None)
        if found is None:
            known = ", ".join(d.name for d in config.digests) or "none configured"
            raise SystemExit(f"ticketbot: no digest named {args.name!r} ({known})")
        digest = found
    else:
        default = "yesterday" if args.command == "digest" else "today"
        digest = DigestConfig(name=args.command, schedule="0 9 * * *", period=default, channels={})
    flags = {k: getattr(args, k) for k in ("department", "agent", "priority", "tier") if getattr(args, k)}
    if flags:
        digest = digest.model_copy(update={"scope": DigestScope.model_validate({**digest.scope.model_dump(), **flags})})
    return digest


def run(args: argparse.Namespace) -> int:
    """Print (and with --send, send) the figures."""
    from bot.cli import _settings
    from storage.db import create_engine
    from storage.migrate import upgrade
    from storage.store import SqlStore

    settings = _settings(args)
    config = load_config(settings.ticketbot_config)
    url = settings.effective_database_url()
    digest = _digest(args, config)
    clock = SystemClock()
    try:
        period = parse_period(args.period or digest.period, clock.now(), digest.timezone or config.business_hours.timezone)
    except PeriodError as err:
        print(f"ticketbot: {translator('en')._(err.problem, token=err.token)}", file=sys.stderr)
        return 2
    if args.command == "digest" and args.send and not (digest.to or digest.channels):
        print("ticketbot: --send needs a digest of the config (its recipients)", file=sys.stderr)
        return 2

    async def main() -> int:
        from schedules.digests import DigestRunner

        await upgrade(url)
        store = SqlStore(create_engine(url), clock)
        try:
            runner = DigestRunner(store=store, config=config, directory=Directory(config), clock=clock,
                                  platforms={platform: None for platform in _enabled(settings)})
            wants_chart = args.command == "digest" and bool(args.chart)
            report, previous, png = await runner.figures(digest, period, language=args.lang,
                                                         with_chart=wants_chart)
            if wants_chart:
                Path(args.chart).write_bytes(png)
            t = translator(args.lang or config.language)
            figures = Figures(report, previous, name=getattr(args, "name", None))
            if args.format == "json":
                print(json.dumps(as_json(report), ensure_ascii=False, indent=2))
            else:
                print(figures_text(figures, t, names(Directory(config), t.language),
                                   markdown=args.format == "markdown").rstrip("\n"))
            if args.command == "digest" and args.send:
                run_id = await runner.send(digest, period)
                print(f"sent: run {run_id}" if run_id else f"not sent: {digest.name} for {period.key} was sent before",
                      file=sys.stderr)
            return 0
        finally:
            await store.close()

    return asyncio.run(main())


def describe(config) -> str:
    """One line per check-config: each digest with its cron, period and time zone (the cron checked by APScheduler)."""
    from schedules.digests import DigestRunner

    runner = DigestRunner(store=None, config=config, directory=Directory(config), clock=SystemClock(), platforms={})
    parts = []
    for digest in config.digests:
        runner.trigger(digest)  # ConfigError when APScheduler cannot read the cron
        holidays = ", business days only" if digest.skip_holidays else ""
        parts.append(f"{digest.name} ({digest.schedule} {runner.timezone(digest)}, {digest.period}{holidays})")
    return "; ".join(parts)


def _enabled(settings) -> list:
    """The platforms whose settings are present (where --send can reach people)."""
    from bot.events import Platform
    from bot.platforms.console_gate import Access, console_access

    on = [Platform.CONSOLE] if console_access(settings) is not Access.OFF else []
    on += [p for p, section in ((Platform.SLACK, settings.slack), (Platform.WECOM, settings.wecom),
                                (Platform.DINGTALK, settings.dingtalk)) if section is not None]
    return on
