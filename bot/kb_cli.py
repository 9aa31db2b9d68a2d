"""`ticketbot kb import | search | export`: the knowledge base from the command line."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

from bot.config import Settings, load_config
from bot.kb import ArticleDraft, Audience, SearchRequest
from bot.kb_files import ImportError_, article_json, read_articles

EXPORT_PAGE = 500


def _settings(args: argparse.Namespace) -> Settings:
    settings = Settings()
    if getattr(args, "config", None):
        settings = settings.model_copy(update={"ticketbot_config": args.config})
    return settings


async def _with_store(args: argparse.Namespace, work):
    from bot.ports import SystemClock
    from storage import kb_text
    from storage.db import create_engine
    from storage.migrate import upgrade
    from storage.store import SqlStore

    url = _settings(args).effective_database_url()
    await upgrade(url)
    await asyncio.to_thread(kb_text.warm_up)
    store = SqlStore(create_engine(url), SystemClock())
    try:
        return await work(store)
    finally:
        await store.close()


def _same(draft: ArticleDraft, article) -> bool:
    return all(getattr(draft, name) == getattr(article, name) for name in
               ("title", "problem", "solution", "category", "product_module", "tags", "language", "visibility",
                "status"))


def import_articles(args: argparse.Namespace) -> int:
    """Import a file or folder of articles; an article whose key exists gets a new version (unchanged: skipped)."""
    try:
        entries = read_articles(Path(args.path))
    except ImportError_ as exc:
        print(f"nothing imported: {exc}", file=sys.stderr)
        return 2

    async def work(store) -> tuple[int, int, int]:
        added = edited = unchanged = 0
        async with store.unit() as uow:
            new = []
            for entry in entries:
                existing = await uow.kb.find_article_by_key(entry.draft.key) if entry.draft.key else None
                if existing is None:
                    new.append(entry.draft)
                elif _same(entry.draft, existing):
                    unchanged += 1
                else:
                    await uow.kb.edit_article(existing.id, entry.draft, author=args.author)
                    edited += 1
            added = len(await uow.kb.add_articles(new, author=args.author))
        return added, edited, unchanged

    added, edited, unchanged = asyncio.run(_with_store(args, work))
    print(f"imported {added} new article(s), {edited} updated, {unchanged} unchanged")
    return 0


def search(args: argparse.Namespace) -> int:
    """Search the knowledge base; text lines or `--format json` ([{"id", "title", "score"}])."""
    if args.limit < 1 or args.limit > 100:
        print("--limit must be between 1 and 100", file=sys.stderr)
        return 2
    config = load_config(_settings(args).ticketbot_config)
    request = SearchRequest(text=" ".join(args.query), audience=Audience(args.audience), language=args.language,
                            limit=args.limit, synonyms=config.kb.synonym_groups())

    async def work(store):
        async with store.snapshot() as uow:
            return await uow.kb.search_articles(request)

    hits = asyncio.run(_with_store(args, work))
    if args.format == "json":
        print(json.dumps([{"id": hit.article.number, "title": hit.article.title, "score": hit.score} for hit in hits],
                         ensure_ascii=False))
        return 0
    if not hits:
        print("no article matches")
    for hit in hits:
        print(f"{hit.article.number}  {hit.score:7.3f}  {hit.article.title}\n      {hit.snippet}")
    return 0


def export(args: argparse.Namespace) -> int:
    """Every article as JSON lines (the import format plus number, version and ratings), to stdout or a file."""
    async def work(store) -> int:
        out = open(args.output, "w", encoding="utf-8") if args.output else sys.stdout  # noqa: SIM115
        count, after = 0, 0
        try:
            while True:
                async with store.snapshot() as uow:
                    page = await uow.kb.all_articles(after_id=after, limit=EXPORT_PAGE)
                if not page:
                    return count
                for article in page:
                    out.write(article_json(article) + "\n")
                count += len(page)
                after = page[-1].id
        finally:
            if args.output:
                out.close()

    count = asyncio.run(_with_store(args, work))
    print(f"exported {count} article(s)", file=sys.stderr)
    return 0


def add_parser(sub) -> None:
    """Add `kb import | search | export` to the CLI's subcommands."""
    p_kb = sub.add_parser("kb", help="the knowledge base: import, search, export articles")
    kb_sub = p_kb.add_subparsers(dest="kb_command", required=True)
    p_import = kb_sub.add_parser("import", help="import a markdown file with front matter, a .jsonl file, or a folder")
    p_import.add_argument("path")
    p_import.add_argument("--author", default="import", help="who the articles are by (default: import)")
    p_import.add_argument("--config", default=None)
    p_import.set_defaults(func=import_articles)
    p_search = kb_sub.add_parser("search", help="ranked articles for some words")
    p_search.add_argument("query", nargs="+")
    p_search.add_argument("--format", choices=("text", "json"), default="text")
    p_search.add_argument("--limit", type=int, default=5)
    p_search.add_argument("--audience", choices=[a.value for a in Audience], default=Audience.STAFF.value,
                          help="customer: public published articles only")
    p_search.add_argument("--language", choices=("zh-CN", "en"), default=None, help="preferred article language")
    p_search.add_argument("--config", default=None)
    p_search.set_defaults(func=search)
    p_export = kb_sub.add_parser("export", help="every article as JSON lines")
    p_export.add_argument("--output", default=None, help="a file (default: standard output)")
    p_export.add_argument("--config", default=None)
    p_export.set_defaults(func=export)
