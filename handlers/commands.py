"""One command grammar for every platform (English and Chinese aliases) → typed requests or usage errors."""

from __future__ import annotations

import re

from bot.kpis import is_period
from bot.requests import RequestAction, parse_request_number
from bot.tickets import MAX_TICKET_ID, Priority, parse_number
from handlers.command_types import (
    Ask,
    Assign,
    ChangeRequest,
    Claim,
    Close,
    Command,
    Help,
    ListRequests,
    ListTickets,
    NewTicket,
    NoSuchTicket,
    Note,
    Reopen,
    Reply,
    Resolve,
    Resume,
    SendFile,
    SetCategory,
    SetPriority,
    Show,
    Sla,
    Stats,
    UsageError,
    Wait,
)


def _(msgid: str) -> str:
    """Mark a msgid for extraction; translated when shown."""
    return msgid


# subcommand → (Chinese aliases, usage msgid, description msgid)
SUBCOMMANDS: dict[str, tuple[tuple[str, ...], str, str]] = {
    "new": (("新建", "创建", "新"), _("/ticket new <title> [p0-p3] [#category] [@assignee]"), _("open a ticket")),
    "list": (("列表", "列出"), _("/ticket list [mine|open|unassigned|breaching] [P0-P3] [page]"), _("list tickets")),
    "show": (("查看", "详情"), _("/ticket show T-000123"), _("show a ticket's card and recent activity")),
    "assign": (("指派", "分配"), _("/ticket assign T-000123 @person|@team"), _("hand a ticket to a person or team")),
    "claim": (("认领",), _("/ticket claim [T-000123]"), _("take a ticket and start on it")),
    "priority": (("优先级",), _("/ticket priority T-000123 P0-P3"), _("change the priority")),
    "category": (("分类", "类别"), _("/ticket category T-000123 <category>"), _("change the category")),
    "note": (("备注",), _("/ticket note T-000123 <text>"), _("add an internal note (the customer never sees it)")),
    "reply": (("回复",), _("/ticket reply T-000123 <text>"), _("answer the customer")),
    "wait": (("等待",), _("/ticket wait T-000123 [customer|colleague]"), _("put a ticket on hold")),
    "resume": (("继续",), _("/ticket resume T-000123"), _("back to work after a wait")),
    "resolve": (("解决",), _("/ticket resolve T-000123 [summary]"), _("mark a ticket resolved")),
    "close": (("关闭",), _("/ticket close T-000123 [reason]"), _("close a ticket")),
    "reopen": (("重开", "重新打开"), _("/ticket reopen T-000123 [reason]"), _("reopen a resolved or closed ticket")),
    "ask": (("协助", "求助"), _("/ticket ask T-000123 @person|@team <question> [by <deadline>]"),
            _("ask a colleague or department, with a deadline")),
    "answer": (("答复",), _("/ticket answer R-000123 <text>"), _("answer a request you were asked")),
    "accept": (("接受", "接单"), _("/ticket accept R-000123"), _("tell the asker you are on a request")),
    "decline": (("拒绝", "转交"), _("/ticket decline R-000123 [@colleague] [reason]"),
                _("decline a request, or hand it to a colleague")),
    "cancel": (("撤回",), _("/ticket cancel R-000123"), _("take back a request you asked")),
    "deadline": (("改期",), _("/ticket deadline R-000123 <deadline>"), _("move a request's deadline")),
    "requests": (("待办", "请求"), _("/ticket requests [mine]"), _("what colleagues are asked (mine: what I asked)")),
    "sla": (("时效",), _("/ticket sla T-000123"), _("show the ticket's clocks")),
    "file": (("附件", "文件"), _("/ticket file T-000123 [N]"), _("list a ticket's files, or send file N again")),
    "stats": (("统计",), _("/ticket stats [today|yesterday|week|last-week|month|YYYY-MM-DD..YYYY-MM-DD] "
                          "[@department|@person] [P0-P3|vip]"), _("ticket figures")),
    "kb": (("知识库",), _("/ticket kb <words> | save T-000123 | suggest T-000123 | send T-000123 KB-12 | show KB-12 | "
                         "edit KB-12 solution <text> | publish KB-12 [public|internal]"),
           _("search the knowledge base, save a ticket's solution, suggest and send articles")),
    "alerts": (("预警",), _("/ticket alerts"), _("open alerts, newest first (see Acknowledge on their cards)")),
    "help": (("帮助",), _("/ticket help [command]"), _("this help")),
}
# What a customer may do (bot.permissions), in their words: their own tickets only, no staff fields.
CUSTOMER_COMMANDS: tuple[tuple[str, str, str], ...] = (
    ("new", _("/ticket new <title>"), _("open a ticket")),
    ("list", _("/ticket list"), _("your open tickets")),
    ("show", _("/ticket show T-000123"), _("a ticket's card and recent activity")),
    ("sla", _("/ticket sla T-000123"), _("when we promised to answer")),
    ("file", _("/ticket file T-000123 [N]"), _("the files of your ticket, or file N again")),
    ("reopen", _("/ticket reopen T-000123 [reason]"), _("reopen a resolved or closed ticket")),
    ("kb", _("/ticket kb <words>"), _("search our help articles")),
    ("help", _("/ticket help"), _("this help")),
)
ALIASES = {alias: name for name, (aliases, _u, _d) in SUBCOMMANDS.items() for alias in (name, *aliases)}
LIST_SCOPES = {"mine": "mine", "我的": "mine", "open": "open", "未结": "open", "未关闭": "open",
               "unassigned": "unassigned", "未分配": "unassigned", "breaching": "breaching", "超时": "breaching"}
WAIT_ON = {"customer": "customer", "客户": "customer", "colleague": "colleague", "同事": "colleague"}
TIERS = {"vip": "vip", "normal": "normal", "普通": "normal"}
SLASH_WORDS = ("/ticket", "/工单", "/tk")
BARE_WORDS = ("ticket", "工单", "tk")
_LEADING_MENTION = re.compile(r"^@\S+\s*")
_PRIORITY = re.compile(r"^[pP][0-3]$")


def normalize(text: str) -> str:
    """Full-width spaces and markers to ASCII (platform mention syntax is the adapters' to translate)."""
    return text.replace("\u3000", " ").replace("＃", "#").replace("＠", "@").strip()


def split_command_word(text: str) -> str | None:
    """The text after a command word ('/ticket', 'ticket', '工单' …), or None when it is not a command."""
    stripped = (text or "").replace("\u3000", " ").strip()
    mention = _LEADING_MENTION.match(stripped)
    if mention and stripped[mention.end():].split(" ", 1)[0].lower().lstrip("/") in {"ticket", "工单", "tk"}:
        stripped = stripped[mention.end():]
    lowered = stripped.lower()
    for word in SLASH_WORDS:
        if lowered == word or lowered.startswith(word + " "):
            return stripped[len(word):].strip()
    for word in BARE_WORDS:
        if lowered == word:
            return ""
        if lowered.startswith(word):
            rest = stripped[len(word):]
            first = rest.strip().split(" ", 1)[0] if rest.strip() else ""
            # "ticket system is down" is a sentence, not a command: the next word must be a subcommand.
            if rest[:1] == " " and first.lower() in ALIASES:
                return rest.strip()
            # Chinese is often written without spaces: 工单新建 …
            if word == "工单" and any(rest.startswith(a) for a in ALIASES if not a.isascii()):
                alias = max((a for a in ALIASES if not a.isascii() and rest.startswith(a)), key=len)
                return f"{alias} {rest[len(alias):].strip()}".strip()
    return None


def command_after_mention(text: str) -> str | None:
    """Words to the bot that start with a subcommand ('claim', '认领 T-000001', '@ticketbot list'), else None."""
    stripped = _LEADING_MENTION.sub("", normalize(text or ""), count=1).strip()
    first = stripped.split(" ", 1)[0].lower()
    if first in ALIASES:
        return stripped
    # Chinese is often written without spaces: 认领T-000001
    alias = max((a for a in ALIASES if not a.isascii() and stripped.startswith(a)), key=len, default=None)
    return f"{alias} {stripped[len(alias):].strip()}".strip() if alias else None


WHICH_TICKET = _("Which ticket? Give its number, e.g. T-000123.")


def ticket_argument(sub: str, tokens: list[str], index: int = 0) -> int:
    """The ticket number at `tokens[index]` (a usage error when missing or malformed)."""
    if len(tokens) <= index:
        raise UsageError(sub, WHICH_TICKET)
    number = parse_number(tokens[index])
    if number is None:
        raise UsageError(sub, _("'{token}' is not a ticket number (e.g. T-000123)."), token=tokens[index])
    if number > MAX_TICKET_ID:
        raise NoSuchTicket(sub, number)
    return number


def _rest(tokens: list[str], start: int) -> str:
    return " ".join(tokens[start:]).strip()


def parse_command(text: str) -> Command:
    """Parse the text after the command word; UsageError on anything wrong."""
    tokens = normalize(text).split()
    if not tokens:
        return Help()
    word = tokens[0].lower().lstrip("/")
    sub = ALIASES.get(word)
    if sub is None:
        raise UsageError(None, _("Unknown command '{word}'."), word=tokens[0])
    args = tokens[1:]
    match sub:
        case "new":
            return _parse_new(args)
        case "list":
            return _parse_list(args)
        case "show" | "resume" | "sla":
            ticket = ticket_argument(sub, args)
            return {"show": Show, "resume": Resume, "sla": Sla}[sub](ticket)
        case "claim":
            return Claim(ticket_argument(sub, args) if args else None)
        case "assign":
            ticket = ticket_argument(sub, args)
            if len(args) < 2:
                raise UsageError(sub, _("Assign to whom? Name a person or a team, e.g. @alice or @Finance."))
            return Assign(ticket, _rest(args, 1))
        case "priority":
            ticket = ticket_argument(sub, args)
            if len(args) != 2 or not _PRIORITY.match(args[1]):
                raise UsageError(sub, _("Priority must be one of P0, P1, P2, P3."))
            return SetPriority(ticket, Priority(args[1].upper()))
        case "category":
            ticket = ticket_argument(sub, args)
            if len(args) != 2:
                raise UsageError(sub, _("Give one category, e.g. bug or billing."))
            return SetCategory(ticket, args[1].lower().lstrip("#"))
        case "note" | "reply":
            ticket = ticket_argument(sub, args)
            body = _rest(args, 1)
            if not body:
                raise UsageError(sub, _("The text is missing."))
            return (Note if sub == "note" else Reply)(ticket, body)
        case "wait":
            ticket = ticket_argument(sub, args)
            on = WAIT_ON.get(args[1].lower()) if len(args) > 1 else "customer"
            if on is None or len(args) > 2:
                raise UsageError(sub, _("Wait for 'customer' or 'colleague'."))
            return Wait(ticket, on)
        case "resolve" | "close" | "reopen":
            ticket = ticket_argument(sub, args)
            cls = {"resolve": Resolve, "close": Close, "reopen": Reopen}[sub]
            return cls(ticket, _rest(args, 1) or None)
        case "file":
            ticket = ticket_argument(sub, args)
            if len(args) > 2 or (len(args) == 2 and not (args[1].isascii() and args[1].isdigit() and 0 < int(args[1]) < 10_000)):
                raise UsageError(sub, _("Give the file's number as `show` lists it, e.g. 1."))
            return SendFile(ticket, int(args[1]) if len(args) == 2 else None)
        case "stats":
            return _parse_stats(args)
        case "ask":
            return _parse_ask(args)
        case "answer" | "accept" | "decline" | "cancel" | "deadline":
            return _parse_request_change(sub, args)
        case "requests":
            if len(args) > 1 or (args and args[0].lower() not in ("mine", "我的")):
                raise UsageError(sub, _("List what is asked of you, or 'mine' for what you asked."))
            return ListRequests(mine=bool(args))
        case "kb":
            from handlers.kb_commands import parse_kb  # its grammar imports this module's helpers

            return parse_kb(args)
        case "alerts":
            from handlers.alert_commands import parse_alerts  # its grammar imports this module's helpers

            return parse_alerts(args)
        case _:
            topic = ALIASES.get(args[0].lower().lstrip("/")) if args else None
            return Help(topic)


def _parse_ask(args: list[str]) -> Ask:
    ticket = ticket_argument("ask", args) if args and not args[0].startswith("@") else None
    rest = args[1:] if ticket is not None else args
    if not rest or not rest[0].startswith("@") or len(rest[0]) < 2:
        raise UsageError("ask", _("Whom should I ask? Name a colleague or a department, e.g. @赵会计 or @finance."))
    return Ask(ticket, rest[0][1:], _rest(rest, 1))


_REQUEST_ACTIONS = {"answer": RequestAction.ANSWER, "accept": RequestAction.ACCEPT, "decline": RequestAction.DECLINE,
                    "cancel": RequestAction.CANCEL, "deadline": RequestAction.MOVE}


def _parse_request_change(sub: str, args: list[str]) -> ChangeRequest:
    if not args:
        raise UsageError(sub, _("Which request? Give its number, e.g. R-000123."))
    number = parse_request_number(args[0])
    if number is None:
        raise UsageError(sub, _("'{token}' is not a request number (e.g. R-000123)."), token=args[0])
    action, body = _REQUEST_ACTIONS[sub], _rest(args, 1)
    if action is RequestAction.DECLINE and len(args) > 1 and args[1].startswith("@") and len(args[1]) > 1:
        return ChangeRequest(number, RequestAction.HAND_OVER, _rest(args, 2) or None, args[1][1:])
    if action in (RequestAction.ANSWER, RequestAction.MOVE) and not body:
        raise UsageError(sub, _("The text is missing."))
    return ChangeRequest(number, action, body or None)


def _parse_list(args: list[str]) -> ListTickets:
    scope, priority, page = "open", None, None
    for index, token in enumerate(args):
        if index == 0 and token.lower() in LIST_SCOPES:
            scope = LIST_SCOPES[token.lower()]
        elif _PRIORITY.match(token) and priority is None:
            priority = Priority(token.upper())
        elif token.isdecimal() and page is None and 0 < int(token) < 100_000:
            page = int(token)
        elif index == 0:
            raise UsageError("list", _("'{token}' is not a list; use mine, open, unassigned or breaching."),
                             token=" ".join(args))
        else:
            raise UsageError("list", _("'{token}' is neither a page number nor a priority (e.g. 2 or P1)."),
                             token=token)
    return ListTickets(scope, priority, page or 1)


def _parse_stats(args: list[str]) -> Stats:
    period = scope = priority = tier = None
    for token in args:
        if token.startswith("@") and len(token) > 1 and scope is None:
            scope = token[1:]
        elif _PRIORITY.match(token) and priority is None:
            priority = Priority(token.upper())
        elif token.lower() in TIERS and tier is None:
            tier = TIERS[token.lower()]
        elif is_period(token) and period is None:
            period = token
        else:
            raise UsageError("stats", _("'{token}' is neither a period, a @department or @person, nor a priority."),
                             token=token)
    return Stats(period, scope, priority, tier)


def _parse_new(args: list[str]) -> NewTicket:
    priority = category = assignee = None
    words = []
    for token in args:
        if _PRIORITY.match(token) and priority is None:
            priority = Priority(token.upper())
        elif token.startswith("#") and len(token) > 1 and category is None:
            category = token[1:].lower()
        elif token.startswith("@") and len(token) > 1 and assignee is None:
            assignee = token[1:]
        else:
            words.append(token)
    title = " ".join(words).strip()
    if not title:
        raise UsageError("new", _("A ticket needs a title."))
    return NewTicket(title, priority, category, assignee)


def usage_text(subcommand: str | None, t, *, customer: bool = False) -> str:
    """The usage of one subcommand, or the whole help when None, in `t`'s language (a customer's own list)."""
    if customer:
        mine = {name: (usage, description) for name, usage, description in CUSTOMER_COMMANDS}
        if subcommand in mine:
            usage, description = mine[subcommand]
            return f"{t._(usage)} — {t._(description)}"
        lines = [t._("Write your question as a message: it opens a ticket, or joins the one you have open. "
                     "You can also use:")]
        lines += [f"• {t._(usage)} — {t._(description)}" for _name, usage, description in CUSTOMER_COMMANDS]
        return "\n".join(lines)
    if subcommand in SUBCOMMANDS:
        _aliases, usage, description = SUBCOMMANDS[subcommand]
        return f"{t._(usage)} — {t._(description)}"
    lines = [t._("Ticket commands (the same text works without the slash):")]
    lines += [f"• {t._(usage)} — {t._(description)}" for _aliases, usage, description in SUBCOMMANDS.values()]
    return "\n".join(lines)


def format_usage_error(err: UsageError, t) -> str:
    """The problem and the usage of that subcommand, localized."""
    problem = t._(err.problem, **err.params)
    if isinstance(err, NoSuchTicket):
        return problem  # the command was right; only the ticket is not there
    if err.subcommand is None:
        return f"{problem}\n{usage_text(None, t)}"
    label = t._("Usage:")
    return f"{problem}\n{label} {usage_text(err.subcommand, t)}"
