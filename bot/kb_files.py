"""Articles in files: markdown with front matter, or JSON lines — read for `ticketbot kb import`, written by export."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import frontmatter

from bot.i18n import guess_language
from bot.kb import LANGUAGES, Article, ArticleDraft, ArticleStatus, ArticleVisibility

FIELDS = ("key", "title", "problem", "solution", "category", "product_module", "tags", "language", "visibility",
          "status")
# Markdown sections that hold the problem and the solution (the body without them is the solution).
_SECTION = re.compile(r"^##\s*(problem|问题|solution|解决方案|解决办法|处理方法)\s*$", re.IGNORECASE | re.MULTILINE)
_PROBLEM_WORDS = {"problem", "问题"}


class ImportError_(ValueError):
    """What is wrong with an input file, with where: nothing is imported while any entry is wrong."""


@dataclass(frozen=True)
class Entry:
    """One article read from a file, with where it came from (for error messages)."""

    where: str
    draft: ArticleDraft


def _draft(fields: dict, where: str) -> ArticleDraft:
    unknown = set(fields) - set(FIELDS) - {"id", "number", "version", "author", "helpful", "not_helpful",
                                           "source_tickets", "created_at", "updated_at"}
    if unknown:
        raise ImportError_(f"{where}: unknown field(s) {', '.join(sorted(unknown))}; known: {', '.join(FIELDS)}")
    title = str(fields.get("title") or "").strip()
    if not title:
        raise ImportError_(f"{where}: title is missing")
    if len(title) > 500:
        raise ImportError_(f"{where}: title is longer than 500 characters")
    tags = fields.get("tags") or []
    if isinstance(tags, str):
        tags = [tag.strip() for tag in tags.split(",")]
    if not isinstance(tags, list):
        raise ImportError_(f"{where}: tags must be a list or a comma-separated text")
    text = f"{title} {fields.get('problem') or ''} {fields.get('solution') or ''}"
    language = fields.get("language") or guess_language(text) or "en"
    if language not in LANGUAGES:
        raise ImportError_(f"{where}: language '{language}' is not one of {', '.join(LANGUAGES)}")
    try:
        visibility = ArticleVisibility(fields.get("visibility") or "internal")
    except ValueError:
        raise ImportError_(f"{where}: visibility must be internal or public, not '{fields['visibility']}'") from None
    try:
        status = ArticleStatus(fields.get("status") or "published")
    except ValueError:
        raise ImportError_(f"{where}: status must be draft or published, not '{fields['status']}'") from None
    key = fields.get("key")
    return ArticleDraft(
        title=title, problem=str(fields.get("problem") or "").strip(), solution=str(fields.get("solution") or "").strip(),
        category=str(fields.get("category") or ""), product_module=str(fields.get("product_module") or ""),
        tags=tuple(str(tag) for tag in tags if str(tag).strip()), language=language, visibility=visibility,
        status=status, key=str(key) if key else None)


def _markdown(path: Path) -> ArticleDraft:
    try:
        post = frontmatter.loads(path.read_text(encoding="utf-8"))
    except Exception as exc:  # YAML errors of every kind: say which file
        raise ImportError_(f"{path}: the front matter is not valid YAML ({exc})") from None
    fields = dict(post.metadata)
    body = post.content
    parts = _SECTION.split(body)
    if len(parts) > 1:
        for heading, text in zip(parts[1::2], parts[2::2], strict=True):
            name = "problem" if heading.lower() in _PROBLEM_WORDS else "solution"
            fields.setdefault(name, text.strip())
    elif body.strip():
        fields.setdefault("solution", body.strip())
    return _draft(fields, str(path))


def _json_lines(path: Path) -> Iterable[Entry]:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            fields = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ImportError_(f"{where}: not valid JSON ({exc.msg})") from None
        if not isinstance(fields, dict):
            raise ImportError_(f"{where}: each line must be a JSON object")
        yield Entry(where, _draft(fields, where))


def read_articles(path: Path) -> list[Entry]:
    """Every article in a file or folder (*.md with front matter, *.jsonl); ImportError_ on the first bad one."""
    if not path.exists():
        raise ImportError_(f"{path}: no such file or folder")
    files = sorted(p for p in path.rglob("*") if p.suffix in (".md", ".jsonl")) if path.is_dir() else [path]
    entries: list[Entry] = []
    for file in files:
        if file.suffix == ".md":
            entries.append(Entry(str(file), _markdown(file)))
        elif file.suffix in (".jsonl", ".json", ".ndjson"):
            entries.extend(_json_lines(file))
        else:
            raise ImportError_(f"{file}: not a .md or .jsonl file")
    keys: dict[str, str] = {}
    for entry in entries:
        if entry.draft.key and entry.draft.key in keys:
            raise ImportError_(f"{entry.where}: key '{entry.draft.key}' is also used by {keys[entry.draft.key]}")
        if entry.draft.key:
            keys[entry.draft.key] = entry.where
    return entries


def article_json(article: Article) -> str:
    """One line of an export (the import format, plus the article's number, version and ratings)."""
    return json.dumps({
        "id": article.id, "number": article.number, "key": article.key or article.number, "title": article.title,
        "problem": article.problem, "solution": article.solution, "category": article.category,
        "product_module": article.product_module, "tags": list(article.tags), "language": article.language,
        "visibility": article.visibility.value, "status": article.status.value,
        "source_tickets": list(article.source_tickets), "version": article.version, "author": article.author,
        "helpful": article.helpful, "not_helpful": article.not_helpful,
    }, ensure_ascii=False)
