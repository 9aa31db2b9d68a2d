"""The knowledge base in chat, through the router: search in both languages, save a resolved ticket as a draft, a lead
publishes it, the next ticket's agent finds it with suggest and sends it (a reply: first response, article recorded);
customers see public articles only; wrong input gets the usage and changes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.kb_files import read_articles
from storage import kb_text
from tests.harness import Harness

KB = Path(__file__).resolve().parent.parent / "fixtures" / "kb"


@pytest.fixture(scope="module", autouse=True)
def _segmenter():
    kb_text.warm_up()


async def _corpus(store) -> None:
    async with store.unit() as uow:
        await uow.kb.add_articles([entry.draft for entry in read_articles(KB / "articles.jsonl")], author="import")


async def test_search_in_chinese_and_english_with_snippets(store, clock):
    await _corpus(store)
    bot = Harness(store, clock)
    await bot.say("liming", "工单 知识库 发票 抬头", bot.channel())
    answer = bot.last_text("triage", visible_to="liming").split("\n")
    assert answer[0] == "“发票 抬头”的相关文章："
    assert answer[1] == "1. KB-1 发票抬头开错了如何重开"
    assert "公司名称写错" in answer[2], "the passage that matched"
    await bot.say("alice", "/ticket kb app quits right after launch", bot.channel())
    answer = bot.last_text("triage", visible_to="alice")
    assert answer.startswith("Articles for “app quits right after launch”:\n1. KB-")
    assert "Android app closes right after launch" in answer.split("\n")[1]


async def test_customers_find_public_articles_only(store, clock):
    await _corpus(store)
    bot = Harness(store, clock)
    await bot.say("alice", "/ticket kb 售后 驳回 原因", bot.channel())
    assert "退款申请被拒绝的常见原因 (internal)" in bot.last_text("triage", visible_to="alice")
    await bot.say("wang-store", "工单 知识库 售后 驳回 原因")
    answer = bot.last_text("wang-store", visible_to="wang-store")
    assert "退款申请被拒绝" not in answer, "an internal article is never shown to a customer"
    number = next(line.split()[1] for line in bot.last_text("triage", visible_to="alice").split("\n")
                  if "退款申请被拒绝" in line)
    await bot.say("wang-store", f"工单 知识库 查看 {number}")
    assert bot.last_text("wang-store", visible_to="wang-store") == f"没有文章 {number}。"
    async with store.snapshot() as view:
        assert await view.get_ticket(1) is None, "a search opens no ticket"


async def test_save_publish_suggest_send(store, clock):
    bot = Harness(store, clock)
    await bot.say("wang-store", "电子发票的公司抬头写错了，能重新开吗")
    await bot.say("alice", "/ticket reply T-000001 请在订单页点申请换开，填写正确的公司名称", bot.channel())
    await bot.say("alice", "/ticket resolve T-000001 已换开发票", bot.channel())
    await bot.say("alice", "/ticket kb save T-000001", bot.channel())
    saved = bot.last_text("triage", visible_to="alice")
    assert saved.startswith("Draft KB-1 saved from T-000001")
    await bot.say("alice", "/ticket kb save T-000001", bot.channel())
    assert bot.last_text("triage", visible_to="alice").startswith("T-000001 is already saved as KB-1")
    async with store.snapshot() as view:
        draft = await view.kb.get_article(1)
    assert draft.problem == "电子发票的公司抬头写错了，能重新开吗"
    assert draft.solution == "已换开发票\n\n- 请在订单页点申请换开，填写正确的公司名称"
    assert (draft.status.value, draft.visibility.value, draft.source_tickets) == ("draft", "internal", (1,))

    await bot.say("alice", "/ticket kb publish KB-1 public", bot.channel())
    assert bot.last_text("triage", visible_to="alice") == "Only a lead can publish articles."
    await bot.say("alice", "/ticket kb send T-000001 KB-1", bot.channel())
    assert "cannot go to a customer" in bot.last_text("triage", visible_to="alice")
    await bot.say("linfang", "工单 知识库 发布 KB-1 公开", bot.channel())
    assert bot.last_text("triage", visible_to="linfang") == "KB-1 已发布：客户现在可以找到它。"

    await bot.say("acme-buyer", "发票抬头开错了，需要换一张")
    await bot.say("alice", "/ticket kb suggest T-000002", bot.channel())
    suggestion = bot.last_text("triage", visible_to="alice").split("\n")
    assert suggestion[:2] == ["Similar to T-000002:", "• KB-1 电子发票的公司抬头写错了，能重新开吗"]
    assert suggestion[-1] == "Send one to the customer: /ticket kb send T-000002 KB-1"
    assert (await bot.ticket(2)).first_response_at is None
    await bot.say("alice", "/ticket kb send T-000002 KB-1", bot.channel())
    sent = bot.last_text("acme-buyer", visible_to="acme-buyer")
    assert sent.startswith("[T-000002] Alice Wang：电子发票的公司抬头写错了，能重新开吗 (KB-1)\n已换开发票")
    ticket = await bot.ticket(2)
    assert ticket.first_response_at is not None, "sending an article is the first response"
    [reply] = [entry for entry in await bot.timeline(2) if entry.kind == "reply"]
    assert reply.detail == {"article": "KB-1"}


@pytest.mark.parametrize(("command", "problem"), [
    ("/ticket kb", "What should I look for?"),
    ("/ticket kb show KB-x", "'KB-x' is not an article number"),
    ("/ticket kb send T-000001", "Which article?"),
    ("/ticket kb save", "Which ticket?"),
    ("/ticket kb publish KB-1 everyone", "Publish as 'public'"),
])
async def test_wrong_input_gets_the_usage(store, clock, command, problem):
    bot = Harness(store, clock)
    await bot.say("alice", command, bot.channel())
    answer = bot.last_text("triage", visible_to="alice")
    assert problem in answer and "/ticket kb <words>" in answer


async def test_customers_and_colleagues_cannot_save(store, clock):
    bot = Harness(store, clock)
    await bot.say("wang-store", "订单页面打不开")
    await bot.say("wang-store", "工单 知识库 保存 T-000001")
    assert bot.last_text("wang-store", visible_to="wang-store") == "只有客服和组长可以这样使用知识库。"
    async with store.snapshot() as view:
        assert await view.kb.get_article(1) is None


async def test_save_to_knowledge_base_on_a_resolved_tickets_card(store, clock):
    bot = Harness(store, clock)
    await bot.say("wang-store", "打印机卡纸了")
    await bot.say("alice", "/ticket reply T-000001 打开后盖取出纸张即可", bot.channel())
    [card] = bot.cards("triage")
    assert "Save to knowledge base" not in [c.label for c in card.card.actions], "not before it is solved"
    await bot.say("alice", "/ticket resolve T-000001 取出卡纸", bot.channel())
    [card] = bot.cards("triage")
    labels = [c.label for c in card.card.actions]
    assert "存入知识库" in labels, "the triage channel's card speaks the workspace language"
    await bot.press("alice", card, "存入知识库")
    assert bot.last_text("triage", visible_to="alice").startswith("Draft KB-1 saved from T-000001: 打印机卡纸了")
    async with store.snapshot() as view:
        article = await view.kb.get_article(1)
    assert article.solution == "取出卡纸\n\n- 打开后盖取出纸张即可" and article.source_tickets == (1,)


@pytest.mark.parametrize("action", ["tb:article:save:0:1:99999999999", "tb:article:send:1:1", "tb:article:nope:1:1:1"])
async def test_a_forged_article_press_changes_nothing(store, clock, action):
    from bot.events import ButtonPressed

    bot = Harness(store, clock)
    await bot.router.receive(ButtonPressed(delivery_id="f1", actor=bot.actor("alice"), conversation=bot.channel(),
                                           action=action, message_ref="m1"))
    await bot.dispatcher.drain()
    assert bot.last_text("triage", visible_to="alice") == "That choice is not valid."
    async with store.snapshot() as view:
        assert await view.kb.get_article(1) is None


async def _published(store, title: str, solution: str, *, public: bool = True) -> None:
    from bot.kb import ArticleDraft, ArticleVisibility

    async with store.unit() as uow:
        await uow.kb.add_article(ArticleDraft(
            title=title, solution=solution,
            visibility=ArticleVisibility.PUBLIC if public else ArticleVisibility.INTERNAL), author="lin")


async def test_a_draft_is_edited_by_command_and_keeps_its_history(store, clock):
    await _published(store, "Printer jams", "Open the back cover.")
    bot = Harness(store, clock)
    await bot.say("alice", "/ticket kb edit KB-1 solution Open the back cover and pull the sheet out slowly.",
                  bot.channel())
    assert bot.last_text("triage", visible_to="alice") == "KB-1 saved as version 2."
    await bot.say("alice", "/ticket kb show KB-1", bot.channel())
    shown = bot.last_text("triage", visible_to="alice")
    assert "pull the sheet out slowly" in shown and "Version 2" in shown
    async with store.snapshot() as view:
        [before] = await view.kb.article_versions(1)
    assert before.solution == "Open the back cover."
    await bot.say("alice", "/ticket kb edit KB-1 colour red", bot.channel())
    assert "Edit what?" in bot.last_text("triage", visible_to="alice")
    await bot.say("wang-store", "工单 知识库 编辑 KB-1 标题 hacked")
    assert bot.last_text("wang-store", visible_to="wang-store") == "只有客服和组长可以这样使用知识库。"
