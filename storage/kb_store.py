"""The knowledge base's SQL: articles with their history, the full-text index of each database, ranked search."""

from __future__ import annotations

import asyncio
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import insert, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import guess_language
from bot.kb import (
    Article,
    ArticleDraft,
    ArticleStatus,
    ArticleVersion,
    ArticleVisibility,
    Audience,
    SearchHit,
    SearchRequest,
    StaleArticle,
)
from bot.kb_config import DEFAULT_SYNONYMS
from bot.ports import Clock
from storage import kb_text
from storage.kb_tables import ARTICLE_COUNT_TERM, ArticleRow, ArticleVersionRow, TermRow

# Column weights: a word of the title tells more than one of the tags, which tells more than one of the body.
SQLITE_WEIGHTS = (3.0, 2.0, 1.0)  # bm25(kb_fts, title, tags, body)
PG_WEIGHTS = "{0.2,0.2,0.5,1.0}"  # ts_rank's D (body), C, B (tags), A (title)
LANGUAGE_BONUS = 1.25  # an article in the reader's language ranks a little higher than its translation
COMMON_SHARE = 0.5  # a word in over half the articles ranks nothing (as long as the question has others)
# bm25 / ts_rank is computed for every article that matches any word, so in a large knowledge base the common
# words of a question would cost thousands of rows to score while adding little but noise to the ranking.
LARGE_BASE = 10_000
LARGE_SHARE = 0.01
ALWAYS_KEPT = 2
MAX_POSITION = 16383  # PostgreSQL's highest tsvector position
TYPO_CANDIDATES = 5000
DEFAULT_GROUPS = tuple(tuple(group) for group in DEFAULT_SYNONYMS)


@dataclass(frozen=True)
class _Indexed:
    title: list[str]
    tags: list[str]
    body: list[str]

    @property
    def distinct(self) -> set[str]:
        return set(self.title) | set(self.tags) | set(self.body)

    def tsvector(self) -> str:
        """The tsvector literal: every term with its positions, weighted A (title), B (tags), D (body)."""
        positions: dict[str, list[str]] = {}
        position = 0
        for weight, words in (("A", self.title), ("B", self.tags), ("D", self.body)):
            for word in words:
                position = min(position + 1, MAX_POSITION)
                positions.setdefault(word, []).append(f"{position}{weight if weight != 'D' else ''}")
        return " ".join(f"'{word}':{','.join(spots[:256])}" for word, spots in positions.items())


def _without_common(weighted: list, *, docs_of, total: int) -> list:
    """The question's words without those too common to rank by: in a small base a word in over half the articles,
    in a large one a word in over 1 % of them (their rows cost more to score than they tell). A question left with
    fewer than two words keeps them all: measured on 100k articles, fewer words lost more answers (hit@3 0.63-0.70
    instead of 0.90) than the slower questions cost."""
    if total < 20 or len(weighted) < 2:
        return weighted
    share = LARGE_SHARE if total >= LARGE_BASE else COMMON_SHARE
    by_rarity = sorted(weighted, key=lambda pair: docs_of(pair[0]))
    kept = [pair for pair in by_rarity if docs_of(pair[0]) <= total * share]
    return kept if len(kept) >= ALWAYS_KEPT else weighted


async def _segmenter_ready() -> None:
    """Load jieba's dictionary (about a second) in a thread the first time, never on the event loop."""
    if not kb_text.is_ready():
        await asyncio.to_thread(kb_text.warm_up)


def analyse(draft: ArticleDraft) -> _Indexed:
    """An article's index terms per field."""
    return _Indexed(
        title=kb_text.terms(draft.title),
        tags=kb_text.terms(" ".join([*draft.tags, draft.category, draft.product_module])),
        body=kb_text.terms(f"{draft.problem}\n{draft.solution}"),
    )


def article_from_row(row) -> Article:
    """The domain article of a row."""
    return Article(
        id=row.id, key=row.key, version=row.version, title=row.title, problem=row.problem, solution=row.solution,
        category=row.category, product_module=row.product_module, tags=tuple(row.tags or ()),
        language=row.language, visibility=ArticleVisibility(row.visibility), status=ArticleStatus(row.status),
        source_tickets=tuple(row.source_tickets or ()), author=row.author, created_at=row.created_at,
        updated_at=row.updated_at, helpful=row.helpful, not_helpful=row.not_helpful,
    )


def _values(draft: ArticleDraft) -> dict:
    return {
        "key": draft.key, "title": draft.title.strip(), "problem": draft.problem, "solution": draft.solution,
        "category": draft.category, "product_module": draft.product_module, "tags": list(draft.tags),
        "language": draft.language, "visibility": draft.visibility.value, "status": draft.status.value,
        "source_tickets": list(draft.source_tickets),
    }


class KbStore:
    """ArticleStore (bot.kb) over one session: the unit of work's transaction, or a read-only snapshot's."""

    def __init__(self, session: AsyncSession, clock: Clock):
        self.session = session
        self.clock = clock

    @property
    def _postgres(self) -> bool:
        return self.session.get_bind().dialect.name == "postgresql"

    # --- writing ---------------------------------------------------------------------------------------

    async def add_article(self, draft: ArticleDraft, *, author: str) -> Article:
        """Store a new article (version 1) and index it."""
        [article] = await self.add_articles([draft], author=author)
        return article

    async def add_articles(self, drafts: Sequence[ArticleDraft], *, author: str) -> list[Article]:
        """Store and index many new articles with a few statements (imports, the bench's 100k)."""
        if not drafts:
            return []
        await _segmenter_ready()
        now = self.clock.now()
        indexed = [analyse(draft) for draft in drafts]
        rows = [{**_values(draft), "version": 1, "author": author, "created_at": now, "updated_at": now,
                 "helpful": 0, "not_helpful": 0, "terms": " ".join(sorted(index.distinct))}
                for draft, index in zip(drafts, indexed, strict=True)]
        connection = await self.session.connection()
        table = ArticleRow.__table__
        result = await connection.execute(insert(table).returning(table.c.id, sort_by_parameter_order=True), rows)
        ids = [row.id for row in result]
        await self._write_index(list(zip(ids, indexed, strict=True)))
        counts = Counter(term for index in indexed for term in index.distinct)
        counts[ARTICLE_COUNT_TERM] = len(drafts)
        await self._count_terms(counts)
        return [Article(**{**_values(draft), "tags": draft.tags, "visibility": draft.visibility,
                           "status": draft.status, "source_tickets": draft.source_tickets},
                        id=article_id, author=author, created_at=now, updated_at=now)
                for article_id, draft in zip(ids, drafts, strict=True)]

    async def edit_article(self, article_id: int, draft: ArticleDraft, *, author: str,
                           expected_version: int | None = None) -> Article | None:
        """Save a new version of an article (the old one kept in its history); None when there is none;
        StaleArticle when `expected_version` is given and the stored one differs (checked under the row's lock)."""
        row = (await self.session.execute(
            select(ArticleRow).where(ArticleRow.id == article_id).with_for_update())).scalar_one_or_none()
        if row is None:
            return None
        if expected_version is not None and row.version != expected_version:
            raise StaleArticle(article_from_row(row))
        await _segmenter_ready()
        now = self.clock.now()
        self.session.add(ArticleVersionRow(
            article_id=row.id, version=row.version, title=row.title, problem=row.problem, solution=row.solution,
            fields={"category": row.category, "product_module": row.product_module, "tags": row.tags,
                    "language": row.language, "visibility": row.visibility, "status": row.status},
            author=row.author, edited_at=now))
        index = analyse(draft)
        before = set(row.terms.split())
        values = _values(draft)
        values["key"] = draft.key or row.key
        values["source_tickets"] = sorted(set(row.source_tickets or ()) | set(draft.source_tickets))
        for name, value in values.items():
            setattr(row, name, value)
        row.version += 1
        row.author = author
        row.updated_at = now
        row.terms = " ".join(sorted(index.distinct))
        await self.session.flush()
        await self._write_index([(row.id, index)], replace=True)
        counts = Counter(dict.fromkeys(index.distinct - before, 1))
        counts.update({term: -1 for term in before - index.distinct})
        await self._count_terms(counts)
        return article_from_row(row)

    async def set_visibility(self, article_id: int, visibility: ArticleVisibility, *, status: ArticleStatus,
                             author: str) -> Article | None:
        """Publish (or withdraw) an article: a new version with the same words."""
        article = await self.get_article(article_id)
        if article is None:
            return None
        draft = ArticleDraft(**{name: getattr(article, name) for name in ArticleDraft.__dataclass_fields__})
        draft = ArticleDraft(**{**draft.__dict__, "visibility": visibility, "status": status})
        return await self.edit_article(article_id, draft, author=author)

    async def rate_article(self, article_id: int, *, helpful: bool) -> None:
        """Count one reader's verdict."""
        column = ArticleRow.helpful if helpful else ArticleRow.not_helpful
        await self.session.execute(update(ArticleRow).where(ArticleRow.id == article_id)
                                   .values({column.key: column + 1}).execution_options(synchronize_session=False))

    async def _write_index(self, entries: list[tuple[int, _Indexed]], *, replace: bool = False) -> None:
        connection = await self.session.connection()
        if self._postgres:
            await connection.execute(
                text("UPDATE kb_articles SET search_vector = CAST(:vector AS tsvector) WHERE id = :id"),
                [{"id": article_id, "vector": index.tsvector()} for article_id, index in entries])
            return
        if replace:
            await connection.execute(text("DELETE FROM kb_fts WHERE rowid = :id"),
                                     [{"id": article_id} for article_id, _ in entries])
        await connection.execute(
            text("INSERT INTO kb_fts (rowid, title, tags, body) VALUES (:id, :title, :tags, :body)"),
            [{"id": article_id, "title": " ".join(index.title), "tags": " ".join(index.tags),
              "body": " ".join(index.body)} for article_id, index in entries])

    async def _count_terms(self, counts: Counter) -> None:
        changes = [{"term": term, "docs": count} for term, count in counts.items() if count and len(term) <= 100]
        if not changes:
            return
        dialect = postgresql if self._postgres else sqlite
        stmt = dialect.insert(TermRow.__table__)
        stmt = stmt.on_conflict_do_update(index_elements=["term"],
                                          set_={"docs": TermRow.__table__.c.docs + stmt.excluded.docs})
        connection = await self.session.connection()
        await connection.execute(stmt, changes)

    # --- reading ---------------------------------------------------------------------------------------

    async def get_article(self, article_id: int) -> Article | None:
        """One article by id."""
        row = await self.session.get(ArticleRow, article_id)
        return article_from_row(row) if row else None

    async def find_article_by_key(self, key: str) -> Article | None:
        """The article imported under `key`, if any."""
        row = (await self.session.execute(select(ArticleRow).where(ArticleRow.key == key))).scalar_one_or_none()
        return article_from_row(row) if row else None

    async def article_versions(self, article_id: int) -> list[ArticleVersion]:
        """An article's earlier versions, oldest first."""
        rows = (await self.session.execute(select(ArticleVersionRow).where(ArticleVersionRow.article_id == article_id)
                                           .order_by(ArticleVersionRow.version))).scalars()
        return [ArticleVersion(row.article_id, row.version, row.title, row.problem, row.solution, row.author,
                               row.edited_at) for row in rows]

    async def all_articles(self, *, after_id: int = 0, limit: int = 500) -> list[Article]:
        """Articles in id order, a page at a time (for export)."""
        rows = (await self.session.execute(select(ArticleRow).where(ArticleRow.id > after_id)
                                           .order_by(ArticleRow.id).limit(limit))).scalars()
        return [article_from_row(row) for row in rows]

    async def count_articles(self) -> int:
        """How many articles there are (kept in kb_terms: no table scan)."""
        return (await self._docs([ARTICLE_COUNT_TERM])).get(ARTICLE_COUNT_TERM, 0)

    async def _docs(self, terms: Sequence[str]) -> dict[str, int]:
        if not terms:
            return {}
        rows = await self.session.execute(select(TermRow.term, TermRow.docs).where(TermRow.term.in_(list(terms))))
        return {term: docs for term, docs in rows}

    async def _correct(self, term: str) -> str | None:
        """The indexed term a misspelt one was meant to be (same first two letters, close spelling)."""
        prefix = term[:2]
        rows = await self.session.execute(
            select(TermRow.term).where(TermRow.term >= prefix, TermRow.term < prefix + "\uffff", TermRow.docs > 0)
            .limit(TYPO_CANDIDATES))
        return kb_text.closest(term, list(rows.scalars()))

    async def search_articles(self, request: SearchRequest) -> list[SearchHit]:
        """Articles ranked by relevance to the request's words, best first (a full-text query, never a scan)."""
        if not await self.count_articles():
            return []  # no knowledge base yet: jieba's dictionary (~60 MB) is not worth loading for it
        await _segmenter_ready()
        synonyms = kb_text.synonyms_for(request.synonyms or DEFAULT_GROUPS)
        # Without a reader's language, the question's own: an English question prefers English articles.
        language = request.language or guess_language(request.text) or ""
        groups = kb_text.query_groups(request.text, synonyms)
        if not groups:
            return []
        docs = await self._docs([*{term for group in groups for term in group.flat}, ARTICLE_COUNT_TERM])
        total = docs.pop(ARTICLE_COUNT_TERM, 0)
        weighted: list[tuple[tuple[tuple[str, ...], ...], float]] = []
        for group in groups:
            alternatives = [alt for alt in group.alternatives if all(docs.get(term, 0) > 0 for term in alt)]
            own = group.alternatives[0][0]
            if not alternatives and kb_text.may_be_typo(own) and (fixed := await self._correct(own)):
                alternatives = [(fixed,), *(alt for alt in synonyms.of(fixed)
                                             if all(docs.get(t, 1) > 0 for t in alt))]
                docs.setdefault(fixed, (await self._docs([fixed])).get(fixed, 0))
            if not alternatives:
                continue
            df = min(total, sum(min(docs.get(term, 0) for term in alt) for alt in alternatives))
            weighted.append((tuple(alternatives), math.log(1 + (total - df + 0.5) / (df + 0.5))))
        weighted = _without_common(weighted, docs_of=lambda alts: min(total, sum(
            min(docs.get(term, 0) for term in alt) for alt in alts)), total=total)
        if not weighted:
            return []
        found = await (self._rank_postgres(weighted, request, language) if self._postgres
                       else self._rank_sqlite(weighted, request, language))
        if not found:
            return []
        rows = (await self.session.execute(select(ArticleRow).where(ArticleRow.id.in_([i for i, _ in found])))).scalars()
        by_id = {row.id: article_from_row(row) for row in rows}
        wanted = {term for alternatives, _ in weighted for alt in alternatives for term in alt}
        return [SearchHit(by_id[article_id], round(score, 4),
                          kb_text.snippet([by_id[article_id].problem, by_id[article_id].solution], wanted))
                for article_id, score in found if article_id in by_id]

    def _filters(self, request: SearchRequest) -> tuple[str, dict]:
        clauses, params = [], {}
        if request.audience is Audience.CUSTOMER:
            clauses.append("a.visibility = 'public' AND a.status = 'published'")
        elif request.published_only:
            clauses.append("a.status = 'published'")
        if request.exclude:
            names = [f"x{i}" for i in range(len(request.exclude))]
            clauses.append(f"a.id NOT IN ({', '.join(':' + name for name in names)})")
            params.update(zip(names, request.exclude, strict=True))
        return "".join(f" AND {clause}" for clause in clauses), params

    async def _rank_sqlite(self, weighted, request: SearchRequest, language: str) -> list[tuple[int, float]]:
        def quoted(alt: tuple[str, ...]) -> str:
            return " AND ".join(f'"{term}"' for term in alt) if len(alt) == 1 else \
                "(" + " AND ".join(f'"{term}"' for term in alt) + ")"
        match = " OR ".join(quoted(alt) for alternatives, _ in weighted for alt in alternatives)
        where, params = self._filters(request)
        weights = ", ".join(str(w) for w in SQLITE_WEIGHTS)
        sql = text(
            f"SELECT a.id, bm25(kb_fts, {weights}) * (CASE WHEN a.language = :language THEN {LANGUAGE_BONUS}"
            f" ELSE 1.0 END) AS score FROM kb_fts JOIN kb_articles a ON a.id = kb_fts.rowid"
            f" WHERE kb_fts MATCH :match{where} ORDER BY score LIMIT :limit")
        rows = await self.session.execute(sql, {"match": match, "language": language,
                                                "limit": request.limit, **params})
        return [(article_id, -score) for article_id, score in rows]

    async def _rank_postgres(self, weighted, request: SearchRequest, language: str) -> list[tuple[int, float]]:
        def tsquery(alternatives) -> str:
            return " | ".join("(" + " & ".join(f"'{t}'" for t in alt) + ")" if len(alt) > 1 else f"'{alt[0]}'"
                              for alt in alternatives)
        params: dict = {}
        parts = []
        for index, (alternatives, idf) in enumerate(weighted):
            params[f"q{index}"] = tsquery(alternatives)
            # Each question word found counts its rarity (idf), plus ts_rank (per unique word of the article,
            # normalization 8) for where and how often: a bare ts_rank sum let long articles of common words win
            # (hit@3 0.48 among 100k articles; this: 0.90, as bm25 on SQLite).
            parts.append(f"{idf:.6f} * (CASE WHEN a.search_vector @@ CAST(:q{index} AS tsquery) THEN 1 + ts_rank("
                         f"'{PG_WEIGHTS}'::float4[], a.search_vector, CAST(:q{index} AS tsquery), 8) ELSE 0 END)")
        params["everything"] = " | ".join(f"({params[f'q{i}']})" for i in range(len(weighted)))
        where, more = self._filters(request)
        sql = text(
            f"SELECT a.id, ({' + '.join(parts)}) * (CASE WHEN a.language = :language THEN {LANGUAGE_BONUS}"
            f" ELSE 1.0 END) AS score FROM kb_articles a"
            f" WHERE a.search_vector @@ CAST(:everything AS tsquery){where} ORDER BY score DESC LIMIT :limit")
        rows = await self.session.execute(sql, {**params, **more,
                                                "language": language, "limit": request.limit})
        return [(article_id, float(score)) for article_id, score in rows]

