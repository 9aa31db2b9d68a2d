"""The knowledge base's domain: articles, their numbers (KB-12), who may see which, and the store's port."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from bot.subjects import Subject, SubjectKind


class ArticleVisibility(StrEnum):
    """Internal articles are for staff; public ones may be shown to customers."""

    INTERNAL = "internal"
    PUBLIC = "public"


class ArticleStatus(StrEnum):
    """A draft (saved from a ticket, not yet reviewed) or published (found by search and suggestions)."""

    DRAFT = "draft"
    PUBLISHED = "published"


class Audience(StrEnum):
    """Who is searching: staff see every published article (and drafts), customers public published ones only."""

    STAFF = "staff"
    CUSTOMER = "customer"


LANGUAGES = ("zh-CN", "en")
_NUMBER = re.compile(r"^(?:KB-?)?0*(\d{1,9})$", re.IGNORECASE)


def format_article_number(article_id: int) -> str:
    """KB-12 for id 12."""
    return f"KB-{article_id}"


def parse_article_number(text: str) -> int | None:
    """The id in 'KB-12', 'kb12' or '12'; None when it is not an article number."""
    match = _NUMBER.match(text.strip().lstrip("#"))
    return int(match.group(1)) if match and int(match.group(1)) > 0 else None


@dataclass(frozen=True)
class ArticleDraft:
    """What an article says: the fields an import, a form or a ticket fills in."""

    title: str
    problem: str = ""
    solution: str = ""  # markdown
    category: str = ""
    product_module: str = ""
    tags: tuple[str, ...] = ()
    language: str = "zh-CN"
    visibility: ArticleVisibility = ArticleVisibility.INTERNAL
    status: ArticleStatus = ArticleStatus.PUBLISHED
    source_tickets: tuple[int, ...] = ()
    key: str | None = None  # a stable name from an import: importing the same key again edits that article


@dataclass(frozen=True)
class Article(ArticleDraft):
    """A stored article: its number, version, author, times and how readers rated it."""

    id: int = 0
    version: int = 1
    author: str = ""
    created_at: datetime | None = None
    updated_at: datetime | None = None
    helpful: int = 0
    not_helpful: int = 0

    @property
    def number(self) -> str:
        """KB-<id>."""
        return format_article_number(self.id)

    @property
    def subject(self) -> Subject:
        """The article's subject (its card, its presses)."""
        return Subject(SubjectKind.ARTICLE, self.id)

    def visible_to(self, audience: Audience) -> bool:
        """Whether this article may be shown to `audience` (customers: public and published only)."""
        if audience is Audience.STAFF:
            return True
        return self.visibility is ArticleVisibility.PUBLIC and self.status is ArticleStatus.PUBLISHED


class StaleArticle(Exception):
    """An edit made against an older version than the stored one: never a silent overwrite."""

    def __init__(self, current: Article):
        super().__init__(f"{current.number} is at version {current.version}")
        self.current = current


@dataclass(frozen=True)
class ArticleVersion:
    """One earlier state of an article: an edit keeps the history."""

    article_id: int
    version: int
    title: str
    problem: str
    solution: str
    author: str
    edited_at: datetime


@dataclass(frozen=True)
class SearchHit:
    """One search result: the article, its score (higher is better) and the passage that matched."""

    article: Article
    score: float
    snippet: str = ""


@dataclass(frozen=True)
class SearchRequest:
    """A search: the words, who asks (what they may see), their language (preferred) and how many results."""

    text: str
    audience: Audience = Audience.STAFF
    language: str | None = None
    limit: int = 5
    published_only: bool = False  # suggestions: never a draft
    exclude: Sequence[int] = field(default_factory=tuple)
    synonyms: tuple[tuple[str, ...], ...] | None = None  # the config's groups (None: the defaults)


class ArticleStore(Protocol):
    """The knowledge base's storage port (implemented in storage/kb_store.py)."""

    async def add_article(self, draft: ArticleDraft, *, author: str) -> Article:
        """Store a new article (version 1) and index it."""

    async def edit_article(self, article_id: int, draft: ArticleDraft, *, author: str,
                           expected_version: int | None = None) -> Article | None:
        """Save a new version of an article (the old one kept in its history); None when there is none;
        StaleArticle when `expected_version` is given and the stored one differs."""

    async def get_article(self, article_id: int) -> Article | None:
        """One article by id."""

    async def find_article_by_key(self, key: str) -> Article | None:
        """The article imported under `key`, if any."""

    async def article_versions(self, article_id: int) -> list[ArticleVersion]:
        """An article's earlier versions, oldest first."""

    async def search_articles(self, request: SearchRequest) -> list[SearchHit]:
        """Articles ranked by relevance to the request's words, best first."""

    async def rate_article(self, article_id: int, *, helpful: bool) -> None:
        """Count one reader's verdict."""

    async def all_articles(self, *, after_id: int = 0, limit: int = 500) -> list[Article]:
        """Articles in id order, a page at a time (for export)."""
