"""The `kb` subcommand's grammar (`/ticket kb …`, `工单 知识库 …`) → typed knowledge-base requests."""

from __future__ import annotations

from dataclasses import dataclass

from bot.kb import parse_article_number
from handlers.command_types import UsageError
from handlers.commands import ticket_argument


def _(msgid: str) -> str:
    """Mark a msgid for extraction; translated when shown."""
    return msgid


# verb → its words, English and Chinese
VERBS = {"save": ("save", "保存"), "suggest": ("suggest", "推荐", "相似"), "send": ("send", "发送"),
         "show": ("show", "查看"), "publish": ("publish", "发布"), "edit": ("edit", "编辑", "修改")}
FIELDS = {"title": "title", "标题": "title", "problem": "problem", "问题": "problem", "solution": "solution",
          "解决方案": "solution", "方案": "solution", "category": "category", "分类": "category", "tags": "tags",
          "标签": "tags"}
_WORDS = {word: verb for verb, words in VERBS.items() for word in words}
PUBLISH_AS = {"public": "public", "公开": "public", "internal": "internal", "内部": "internal"}


@dataclass(frozen=True)
class KbRequest:
    """A knowledge-base request (the router hands every one to handlers/kb.py)."""


@dataclass(frozen=True)
class KbSearch(KbRequest):
    words: str


@dataclass(frozen=True)
class KbSave(KbRequest):
    ticket_id: int


@dataclass(frozen=True)
class KbSuggest(KbRequest):
    ticket_id: int


@dataclass(frozen=True)
class KbSend(KbRequest):
    ticket_id: int
    article_id: int


@dataclass(frozen=True)
class KbShow(KbRequest):
    article_id: int


@dataclass(frozen=True)
class KbPublish(KbRequest):
    article_id: int
    visibility: str = "public"


@dataclass(frozen=True)
class KbEdit(KbRequest):
    article_id: int
    field: str
    text: str


def _article(tokens: list[str], index: int) -> int:
    if len(tokens) <= index:
        raise UsageError("kb", _("Which article? Give its number, e.g. KB-12."))
    number = parse_article_number(tokens[index])
    if number is None:
        raise UsageError("kb", _("'{token}' is not an article number (e.g. KB-12)."), token=tokens[index])
    return number


def parse_kb(args: list[str]) -> KbRequest:
    """Parse the words after `kb`; UsageError on anything wrong (a bare `kb` asks what to look for)."""
    if not args:
        raise UsageError("kb", _("What should I look for? e.g. /ticket kb invoice title"))
    verb = _WORDS.get(args[0].lower())
    rest = args[1:]
    match verb:
        case "save":
            return KbSave(ticket_argument("kb", rest))
        case "suggest":
            return KbSuggest(ticket_argument("kb", rest))
        case "send":
            return KbSend(ticket_argument("kb", rest), _article(rest, 1))
        case "show":
            return KbShow(_article(rest, 0))
        case "publish":
            article = _article(rest, 0)
            visibility = PUBLISH_AS.get(rest[1].lower()) if len(rest) > 1 else "public"
            if visibility is None or len(rest) > 2:
                raise UsageError("kb", _("Publish as 'public' (customers may see it) or 'internal'."))
            return KbPublish(article, visibility)
        case "edit":
            article = _article(rest, 0)
            field = FIELDS.get(rest[1].lower()) if len(rest) > 1 else None
            if field is None or len(rest) < 3:
                raise UsageError("kb", _("Edit what? e.g. /ticket kb edit KB-12 solution <new text> "
                                         "(title, problem, solution, category or tags)."))
            return KbEdit(article, field, " ".join(rest[2:]))
        case _:
            return KbSearch(" ".join(args))
