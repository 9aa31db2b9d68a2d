"""The command grammar in English and Chinese, with its errors."""

from __future__ import annotations

import pytest

from bot.i18n import translator
from bot.tickets import Priority
from handlers.command_types import (
    Assign,
    Claim,
    Close,
    Help,
    ListTickets,
    NewTicket,
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
from handlers.commands import (
    SUBCOMMANDS,
    command_after_mention,
    format_usage_error,
    parse_command,
    split_command_word,
    usage_text,
)

ZH, EN = translator("zh-CN"), translator("en")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("工单 新建 打印机坏了 p1 #bug @alice", NewTicket("打印机坏了", Priority.P1, "bug", "alice")),
        ("/ticket new Invoice missing #billing", NewTicket("Invoice missing", None, "billing", None)),
        ("ticket new payload too big", NewTicket("payload too big")),
        ("/ticket new P0 site down", NewTicket("site down", Priority.P0)),
        ("/ticket list", ListTickets("open")),
        ("工单 列表 我的", ListTickets("mine")),
        ("ticket list unassigned", ListTickets("unassigned")),
        ("工单 列表 超时", ListTickets("breaching")),
        ("/ticket show T-000012", Show(12)),
        ("工单　查看　T-1", Show(1)),
        ("/ticket assign T-000012 @财务", Assign(12, "@财务")),
        ("/ticket assign 12 @U123", Assign(12, "@U123")),
        ("工单 指派 ＃12 ＠alice", Assign(12, "@alice")),
        ("/ticket claim", Claim(None)),
        ("工单 认领 T-3", Claim(3)),
        ("/ticket priority t-5 p0", SetPriority(5, Priority.P0)),
        ("工单 优先级 5 P3", SetPriority(5, Priority.P3)),
        ("/ticket category T-5 Billing", SetCategory(5, "billing")),
        ("/ticket note T-1 internal only", Note(1, "internal only")),
        ("工单 备注 T-1 客户很着急", Note(1, "客户很着急")),
        ("/ticket reply #7 hello there", Reply(7, "hello there")),
        ("/ticket wait T-2", Wait(2, "customer")),
        ("工单 等待 T-2 同事", Wait(2, "colleague")),
        ("/ticket resume T-2", Resume(2)),
        ("/ticket resolve 3 fixed by restart", Resolve(3, "fixed by restart")),
        ("工单 解决 3", Resolve(3, None)),
        ("/ticket close T-3 duplicate", Close(3, "duplicate")),
        ("工单 重开 T-3", Reopen(3, None)),
        ("/ticket sla T-9", Sla(9)),
        ("/ticket file T-9", SendFile(9)),
        ("工单 附件 T-9 2", SendFile(9, 2)),
        ("工单 统计", Stats()),
        ("/ticket help", Help(None)),
        ("工单 帮助 指派", Help("assign")),
        ("/ticket", Help(None)),
        ("@ticketbot ticket show 1", Show(1)),
        ("工单新建 打印机坏了", NewTicket("打印机坏了")),
    ],
)
def test_grammar(text, expected):
    remainder = split_command_word(text)
    assert remainder is not None
    assert parse_command(remainder) == expected


@pytest.mark.parametrize("text", ["ticket system is down", "工单系统坏了", "hello", "my ticket", "tickets please", ""])
def test_ordinary_messages_are_not_commands(text):
    assert split_command_word(text) is None


@pytest.mark.parametrize(
    ("text", "subcommand", "zh_fragment", "en_fragment"),
    [
        ("new", "new", "标题", "title"),
        ("new p1 #bug", "new", "标题", "title"),
        ("priority T-5 P9", "priority", "P0", "P0"),
        ("优先级 T-5 P9", "priority", "优先级", "Priority"),
        ("show", "show", "工单号", "number"),
        ("show abc", "show", "abc", "abc"),
        ("assign T-1", "assign", "指派", "Assign"),
        ("note T-1", "note", "缺少内容", "missing"),
        ("reply T-1", "reply", "缺少内容", "missing"),
        ("wait T-1 lunch", "wait", "客户", "customer"),
        ("list everything", "list", "未分配", "unassigned"),
        ("category T-1", "category", "分类", "category"),
        ("附件 T-1 第二个", "file", "附件编号", "number"),
        ("frobnicate T-1", None, "未知命令", "Unknown command"),
    ],
)
def test_usage_errors_are_localized_and_show_usage(text, subcommand, zh_fragment, en_fragment):
    with pytest.raises(UsageError) as info:
        parse_command(text)
    err = info.value
    assert err.subcommand == subcommand
    zh, en = format_usage_error(err, ZH), format_usage_error(err, EN)
    assert zh_fragment in zh and en_fragment in en
    if subcommand:
        assert usage_text(subcommand, ZH) in zh and usage_text(subcommand, EN) in en
        assert "工单" in usage_text(subcommand, ZH) and "/ticket" in usage_text(subcommand, EN)
    else:
        assert "工单 新建" in zh and "/ticket new" in en


def test_help_lists_every_subcommand_in_both_languages():
    zh, en = usage_text(None, ZH), usage_text(None, EN)
    for aliases, usage, _description in SUBCOMMANDS.values():
        assert usage in en and ZH._(usage) in zh and aliases[0] in zh


@pytest.mark.parametrize(("text", "expected"), [
    ("claim", "claim"),
    ("@U0BOT claim T-000001", "claim T-000001"),
    ("认领T-000001", "认领 T-000001"),
    ("  List mine ", "List mine"),
    ("claims from the CDN look wrong", None),
    ("the export is broken", None),
    ("", None),
])
def test_words_to_the_bot_that_start_with_a_subcommand_are_a_command(text, expected):
    assert command_after_mention(text) == expected
