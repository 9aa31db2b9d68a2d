"""A knowledge-base article's card (kind `article`): what the draft or article says, and its Edit button."""

from __future__ import annotations

from bot.i18n import translator
from bot.kb import Article, ArticleStatus, ArticleVisibility
from bot.subjects import Viewer
from bot.text import fit_text
from cards import actions
from cards.model import Button, Card, Field

EDIT = "edit"  # an article press: open the edit form (or, without forms, say which command edits it)
EXCERPT = 400  # of the problem and the solution on the card: the form and `kb show` hold the whole text


def status_text(article: Article, t) -> str:
    """Draft or published, in words."""
    return t._("Draft") if article.status is ArticleStatus.DRAFT else t._("Published")


def visibility_text(visibility: ArticleVisibility, t) -> str:
    """Internal (staff) or public (customers too), in words."""
    return t._("Public (customers too)") if visibility is ArticleVisibility.PUBLIC else t._("Internal (staff only)")


def edit_command(article: Article, t) -> str:
    """The command that edits one part of the article (where a platform has no form)."""
    return t._("/ticket kb edit {article} title|problem|solution|category|tags <text>", article=article.number)


class ArticleCards:
    """Builds article cards for the dispatcher at send time, from the stored article."""

    def build(self, article: Article, viewer: Viewer, language: str) -> Card:
        """The card of an article in `language` (staff only: customers get articles as replies)."""
        return article_card(article, translator(language))


def article_card(article: Article, t) -> Card:
    """Title, status, visibility, category, tags, version, the problem and solution in short; Edit."""
    fields = [Field(t._("Status"), status_text(article, t)),
              Field(t._("Visibility"), visibility_text(article.visibility, t)),
              Field(t._("Category"), article.category or "—"),
              Field(t._("Tags"), ", ".join(article.tags) or "—"),
              Field(t._("Version"), str(article.version))]
    if article.problem:
        fields.append(Field(t._("Problem"), fit_text(article.problem, EXCERPT)))
    if article.solution:
        fields.append(Field(t._("Solution"), fit_text(article.solution, EXCERPT)))
    return Card(
        title=f"{article.number} · {article.title}", fields=tuple(fields),
        actions=(Button(t._("Edit"), actions.encode(article.subject, EDIT, article.version), "primary"),),
        footer=t._("Or edit by command: {command}", command=edit_command(article, t)),
        subject=article.subject, version=article.version, language=t.language)
