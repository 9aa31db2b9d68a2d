"""A knowledge-base article's Edit form: title, problem, solution, category, tags, visibility — a new version.

Where a platform has no forms (WeCom, DingTalk) the Edit press says which command edits each part instead.
"""

from __future__ import annotations

from bot.events import FormKind, FormSubmitted
from bot.i18n.labels import category_label
from bot.kb import Article, ArticleDraft, ArticleVisibility, StaleArticle, format_article_number
from cards.article import EDIT, edit_command, visibility_text
from cards.model import Form, FormField, Option
from handlers.notify import refresh_cards
from handlers.turn import Turn

__all__ = ["EDIT", "build", "check", "instructions", "submit"]
TEXT_LIMIT = 3000  # what a form field takes (Slack's cap): a longer text is left out of the form, edited by command
TITLE_LIMIT = 200


def may_edit(turn: Turn) -> bool:
    """Staff edit articles (customers read the published public ones)."""
    return turn.person.is_staff


def _may_publish(turn: Turn) -> bool:
    return turn.person.has("lead", "manager")


async def _article(turn: Turn, article_id: int) -> Article | None:
    async with turn.ctx.store.snapshot() as view:
        return await view.kb.get_article(article_id) if 0 < article_id <= 2**31 - 1 else None


def _categories(turn: Turn, current: str) -> tuple[Option, ...]:
    names = list(turn.ctx.config.categories)
    if current and current not in names:  # an imported article's own category stays choosable
        names.append(current)
    return tuple(Option(category_label(name, turn.t), name) for name in names)


async def build(turn: Turn, article_id: int) -> Form | None:
    """The article's form, prefilled (None for a customer, or an article that is gone)."""
    article = await _article(turn, article_id)
    if article is None or not may_edit(turn):
        return None
    t = turn.t
    fields = [FormField("title", t._("Title"), initial=article.title, required=True, max_length=TITLE_LIMIT)]
    left_out = []
    for name, label in (("problem", t._("Problem")), ("solution", t._("Solution"))):
        text = getattr(article, name)
        if len(text) > TEXT_LIMIT:
            left_out.append(label)
        else:
            fields.append(FormField(name, label, "multiline", initial=text or None, max_length=TEXT_LIMIT))
    fields += [
        FormField("category", t._("Category"), "select", _categories(turn, article.category),
                  initial=article.category or None),
        FormField("tags", t._("Tags"), initial=", ".join(article.tags) or None, max_length=500,
                  hint=t._("Separated by commas")),
        FormField("visibility", t._("Visibility"), "select",
                  tuple(Option(visibility_text(v, t), v.value) for v in ArticleVisibility),
                  initial=article.visibility.value, required=True,
                  hint=None if _may_publish(turn) else t._("Only a lead may make an article public.")),
    ]
    intro = t._("Version {version}; saving keeps this one in the history.", version=article.version)
    if left_out:
        intro += " " + t._("Too long for a form, so edited by command: {parts} ({command}).",
                           parts=", ".join(left_out), command=edit_command(article, t))
    return Form(kind=FormKind.ARTICLE_EDIT.value, title=t._("Edit {article}", article=article.number),
                intro=intro, fields=tuple(fields), submit=t._("Save"), cancel=t._("Cancel"),
                subject=article.subject, version=article.version, language=t.language)


async def check(turn: Turn, event: FormSubmitted, values: dict[str, str]) -> dict[str, str]:
    """Only a lead makes an article public (keeping it public is anyone's edit)."""
    article = await _article(turn, event.subject_id or 0)
    if (article is not None and values.get("visibility") == ArticleVisibility.PUBLIC.value
            and article.visibility is not ArticleVisibility.PUBLIC and not _may_publish(turn)):
        return {"visibility": turn.t._("Only a lead may make an article public.")}
    return {}


def tags_of(text: str) -> tuple[str, ...]:
    """'发票, 补打，invoice' → ('发票', '补打', 'invoice'): commas of either width."""
    return tuple(tag.strip() for tag in text.replace("，", ",").split(",") if tag.strip())


async def submit(turn: Turn, event: FormSubmitted, values: dict[str, str]) -> None:
    """Save the edit as a new version, against the version the form showed; every copy of the card follows."""
    t, article_id = turn.t, event.subject_id or 0
    async with turn.ctx.store.unit() as uow:
        article = await uow.kb.get_article(article_id) if may_edit(turn) else None
        if not may_edit(turn):
            answer = t._("Only agents and leads can do that with the knowledge base.")
        elif article is None:
            answer = t._("There is no article {article}.", article=format_article_number(article_id))
        else:
            draft = {name: getattr(article, name) for name in ArticleDraft.__dataclass_fields__}
            draft.update({name: values[name] for name in ("title", "problem", "solution", "category")
                          if name in values})
            if "tags" in values:
                draft["tags"] = tags_of(values["tags"])
            if values.get("visibility"):
                draft["visibility"] = ArticleVisibility(values["visibility"])
            try:
                edited = await uow.kb.edit_article(article_id, ArticleDraft(**draft), author=turn.person.key,
                                                   expected_version=event.version)
                await refresh_cards(uow, edited)
                answer = t._("{article} saved as version {version}.", article=edited.number, version=edited.version)
            except StaleArticle as stale:
                who = turn.ctx.directory.person(stale.current.author)
                answer = t._("{article} was just changed by {name} (now version {version}); nothing was saved. "
                             "Open the form again to edit the latest.", article=stale.current.number,
                             name=who.name if who else stale.current.author, version=stale.current.version)
        await turn.reply(uow, answer, private=True)
        await turn.finish(uow)


async def instructions(turn: Turn, article_id: int) -> None:
    """The Edit press where there is no form: the commands that edit the article, in the person's words."""
    article = await _article(turn, article_id)
    t = turn.t
    if not may_edit(turn):
        text = t._("Only agents and leads can do that with the knowledge base.")
    elif article is None:
        text = t._("There is no article {article}.", article=format_article_number(article_id))
    else:
        text = t._("Edit {article} by replying with: {command} (one part at a time; each saves a new version).",
                   article=article.number, command=edit_command(article, t))
        if _may_publish(turn):
            text += "\n" + t._("Publish it: {command}", command=t._("/ticket kb publish {article} public|internal",
                                                                  article=article.number))
    await turn.answer(text)
