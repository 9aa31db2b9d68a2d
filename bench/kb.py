"""Knowledge-base search quality and speed: the shipped bilingual corpus, optionally among N synthetic articles.

Imports tests/fixtures/kb/articles.jsonl (and `--articles N` synthetic ones drawn from jieba's dictionary and the
corpus' English words) into a fresh SQLite database, or a fresh schema of `--database-url` (PostgreSQL), then runs
every query of tests/fixtures/kb/queries.jsonl `--runs` times through the store's search. hit@3: the expected
article is among the first three; mrr: mean reciprocal rank of it (0 when not in the first ten). Last line:

articles=<n> queries=<n> hit_at_3=<x> mrr=<x> search_ms_p50=<x> search_ms_p95=<x>
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import jieba
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from bot.config import normalize_database_url
from bot.kb import ArticleDraft, ArticleVisibility, SearchRequest
from bot.kb_files import read_articles
from bot.ports import SystemClock
from storage import kb_text
from storage.db import SCHEMA_PARAM, create_engine, is_sqlite
from storage.migrate import upgrade
from storage.store import SqlStore

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "kb"
CHUNK = 2000


def corpus() -> list[ArticleDraft]:
    """The shipped articles."""
    return [entry.draft for entry in read_articles(FIXTURES / "articles.jsonl")]


def queries() -> list[dict]:
    """The shipped paraphrase queries, each with the key of the article it must find."""
    return [json.loads(line) for line in (FIXTURES / "queries.jsonl").read_text(encoding="utf-8").splitlines() if line]


def synthetic(count: int, seed: int = 7) -> list[ArticleDraft]:
    """`count` articles of words drawn Zipf-like from jieba's dictionary (Chinese) or an English list."""
    random.seed(seed)
    dictionary = Path(jieba.__file__).parent / "dict.txt"
    words = []
    for line in dictionary.read_text(encoding="utf-8").splitlines():
        word, freq, *_ = line.split(" ")
        if len(word) >= 2:
            words.append((int(freq), word))
    chinese = [word for _freq, word in sorted(words, reverse=True)[:30_000]]
    english = sorted({word.lower() for draft in corpus() for word in f"{draft.problem} {draft.solution}".split()
                      if word.isalpha() and len(word) > 2})
    english += [f"{a}{b}" for a in ("pro", "sync", "cloud", "data", "auto", "smart") for b in english[:400]]

    zh_weights = [1 / (rank + 10) for rank in range(len(chinese))]
    en_weights = [1 / (rank + 10) for rank in range(len(english))]
    drafts = []
    for number in range(count):
        zh = number % 2 == 0
        vocabulary, weights, glue = (chinese, zh_weights, "") if zh else (english, en_weights, " ")
        title = glue.join(random.choices(vocabulary, weights=weights, k=random.randint(3, 7)))
        problem = glue.join(random.choices(vocabulary, weights=weights, k=random.randint(10, 25)))
        solution = glue.join(random.choices(vocabulary, weights=weights, k=random.randint(25, 60)))
        drafts.append(ArticleDraft(title=title, problem=problem, solution=solution, language="zh-CN" if zh else "en",
                                   visibility=ArticleVisibility.PUBLIC, key=f"synthetic-{number}"))
    return drafts


async def seed(store: SqlStore, drafts: list[ArticleDraft]) -> dict[str, int]:
    """Import the drafts in chunks; returns key → article id."""
    ids: dict[str, int] = {}
    for start in range(0, len(drafts), CHUNK):
        async with store.unit() as uow:
            for article in await uow.kb.add_articles(drafts[start:start + CHUNK], author="bench"):
                ids[article.key] = article.id
    return ids


async def evaluate(store: SqlStore, ids: dict[str, int], *, runs: int = 3, limit: int = 10) -> dict[str, float]:
    """hit@3, MRR and search latency over the query set."""
    hits, reciprocal, times, misses = 0, 0.0, [], []
    cases = queries()
    for case in cases:
        request = SearchRequest(text=case["query"], language=case["language"], limit=limit)
        for _ in range(runs):
            started = time.perf_counter()
            async with store.snapshot() as uow:
                found = await uow.kb.search_articles(request)
            times.append((time.perf_counter() - started) * 1000)
        ranked = [hit.article.id for hit in found]
        expected = ids[case["expect"]]
        rank = ranked.index(expected) + 1 if expected in ranked else None
        hits += bool(rank and rank <= 3)
        reciprocal += 1 / rank if rank else 0.0
        if not rank or rank > 3:
            misses.append(f"  miss: {case['query']!r} → expected {case['expect']} at {rank}; got "
                          + ", ".join(hit.article.key or hit.article.number for hit in found[:3]))
    for line in misses:
        print(line)
    times.sort()
    return {"queries": len(cases), "hit_at_3": hits / len(cases), "mrr": reciprocal / len(cases),
            "search_ms_p50": statistics.median(times), "search_ms_p95": times[int(len(times) * 0.95)]}


async def fresh_url(folder: str, database_url: str | None) -> tuple[str, str | None]:
    """A fresh SQLite file, or a fresh schema of the PostgreSQL database (returned for dropping)."""
    database_url = normalize_database_url(database_url) if database_url else None
    if not database_url or is_sqlite(database_url):
        return f"sqlite+aiosqlite:///{folder}/kb.db", None
    schema = f"bench_kb_{uuid.uuid4().hex[:8]}"
    admin = create_async_engine(database_url)
    async with admin.begin() as connection:
        await connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    await admin.dispose()
    return make_url(database_url).update_query_dict({SCHEMA_PARAM: schema}).render_as_string(hide_password=False), schema


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=0, help="synthetic articles beside the shipped corpus")
    parser.add_argument("--runs", type=int, default=3, help="runs of each query (latency percentiles over all)")
    parser.add_argument("--database-url", help="postgresql+asyncpg://…/db (a fresh schema is made and dropped)")
    parser.add_argument("--keep", help="a SQLite file (with --database-url: a schema name) to seed once and search "
                                       "again on later runs, without re-seeding")
    args = parser.parse_args()
    await asyncio.to_thread(kb_text.warm_up)
    with tempfile.TemporaryDirectory() as folder:
        if args.keep and args.database_url:
            base = normalize_database_url(args.database_url)
            url, schema = make_url(base).update_query_dict({SCHEMA_PARAM: args.keep}).render_as_string(
                hide_password=False), None
            admin = create_async_engine(base)
            async with admin.begin() as connection:
                kept = bool((await connection.execute(text(
                    "SELECT 1 FROM information_schema.tables WHERE table_schema = :s AND table_name = 'kb_articles'"),
                    {"s": args.keep})).first())
                await connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{args.keep}"'))
            await admin.dispose()
        elif args.keep:
            url, schema, kept = f"sqlite+aiosqlite:///{args.keep}", None, Path(args.keep).exists()
        else:
            url, schema = await fresh_url(folder, args.database_url)
            kept = False
        await upgrade(url)
        store = SqlStore(create_engine(url), SystemClock())
        try:
            started = time.perf_counter()
            drafts = corpus()
            if kept:
                async with store.snapshot() as uow:
                    ids = {draft.key: (await uow.kb.find_article_by_key(draft.key)).id for draft in drafts}
            else:
                ids = await seed(store, drafts)
            if args.articles and not kept:
                await seed(store, synthetic(args.articles))
                print(f"seeded {len(drafts) + args.articles} articles in {time.perf_counter() - started:.1f} s",
                      flush=True)
            figures = await evaluate(store, ids, runs=args.runs)
        finally:
            await store.close()
            if schema:
                admin = create_async_engine(normalize_database_url(args.database_url))
                async with admin.begin() as connection:
                    await connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
                await admin.dispose()
    print(f"articles={len(drafts) + args.articles} queries={figures['queries']} hit_at_3={figures['hit_at_3']:.3f} "
          f"mrr={figures['mrr']:.3f} search_ms_p50={figures['search_ms_p50']:.2f} "
          f"search_ms_p95={figures['search_ms_p95']:.2f}")


if __name__ == "__main__":
    asyncio.run(main())
