"""The knowledge base's tables: articles, their earlier versions, and the index's terms with document counts.

The full-text index itself is outside the ORM models: an FTS5 virtual table on SQLite (`kb_fts`), a tsvector column
with a GIN index on PostgreSQL (`kb_articles.search_vector`). Both are made by migration 0012;
`in_orm_models` tells Alembic's comparison to leave them be.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.tables import Base

FTS_TABLE = "kb_fts"  # SQLite: FTS5 over (title, tags, body) of ready-made terms, rowid = article id
SEARCH_VECTOR = "search_vector"  # PostgreSQL: weighted tsvector of the same terms
SEARCH_INDEX = "ix_kb_articles_search"
ARTICLE_COUNT_TERM = "#articles"  # a row of kb_terms counting the articles (no analysed term starts with '#')


class ArticleRow(Base):
    """An article as it reads now (its earlier versions are ArticleVersionRow)."""

    __tablename__ = "kb_articles"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)  # KB-<id>
    key: Mapped[str | None] = mapped_column(String(200), unique=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    title: Mapped[str] = mapped_column(String(500))
    problem: Mapped[str] = mapped_column(Text, default="")
    solution: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str] = mapped_column(String(64), default="")
    product_module: Mapped[str] = mapped_column(String(128), default="")
    tags: Mapped[list[str]] = mapped_column(default=list)
    language: Mapped[str] = mapped_column(String(16))
    visibility: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    source_tickets: Mapped[list[int]] = mapped_column(JSON, default=list)
    author: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column()
    helpful: Mapped[int] = mapped_column(Integer, default=0)
    not_helpful: Mapped[int] = mapped_column(Integer, default=0)
    # The distinct index terms, space-separated: an edit adjusts kb_terms' document counts by the difference.
    terms: Mapped[str] = mapped_column(Text, default="")


class ArticleVersionRow(Base):
    """An article as it read before an edit."""

    __tablename__ = "kb_article_versions"

    article_id: Mapped[int] = mapped_column(ForeignKey("kb_articles.id"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(500))
    problem: Mapped[str] = mapped_column(Text)
    solution: Mapped[str] = mapped_column(Text)
    fields: Mapped[dict[str, Any]] = mapped_column()  # category, product module, tags, language, visibility, status
    author: Mapped[str] = mapped_column(String(200))
    edited_at: Mapped[datetime] = mapped_column()


class TermRow(Base):
    """A term of the index and in how many articles it occurs: typo correction and the weight of rare words."""

    __tablename__ = "kb_terms"

    term: Mapped[str] = mapped_column(String(100), primary_key=True)
    docs: Mapped[int] = mapped_column(Integer, default=0)


# Articles a customer may be shown, newest first, without reading the others.
Index("ix_kb_articles_public", ArticleRow.visibility, ArticleRow.status)


def in_orm_models(name: str | None, type_: str, parent_names: dict) -> bool:
    """Alembic's include_name: the full-text index (FTS5 tables, the tsvector column and its index) is no model's."""
    if name is None:
        return True
    if type_ == "table":
        return not name.startswith(FTS_TABLE)
    if type_ == "column":
        return not (parent_names.get("table_name") == "kb_articles" and name == SEARCH_VECTOR)
    if type_ == "index":
        return name != SEARCH_INDEX
    return True


class SuggestionRow(Base):
    """An article suggested on a ticket's triage card (rank 1 is the best), and when it was sent to the customer."""

    __tablename__ = "kb_suggestions"

    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), primary_key=True)
    rank: Mapped[int] = mapped_column(Integer, primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("kb_articles.id"))
    sent_at: Mapped[datetime | None] = mapped_column()


class OfferRow(Base):
    """Public articles offered to a ticket's customer (one offer per ticket), and their answer."""

    __tablename__ = "kb_offers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), unique=True)
    article_ids: Mapped[list[int]] = mapped_column(JSON)
    requester_platform: Mapped[str] = mapped_column(String(16))
    requester_user_id: Mapped[str] = mapped_column(String(200))
    language: Mapped[str] = mapped_column(String(16))
    offered_at: Mapped[datetime] = mapped_column()
    answer: Mapped[str | None] = mapped_column(String(8))
    answered_at: Mapped[datetime | None] = mapped_column()

    # The deflection KPI: offers made in a period and how many were answered "solved", from the index alone.
    __table_args__ = (Index("ix_kb_offers_offered_at", "offered_at", "answer"),)
