"""One ticket story, the same on every platform: each driver speaks its platform's wire, the story does not change.

customer message → ticket → triage card → claim → priority → note → reply reaches the customer → resolve → close;
and a customer's screenshot reaches the agent where they work.
"""

from __future__ import annotations

import asyncio
import html
import json
import re
from pathlib import Path
from urllib.parse import quote

import pytest

from bot.app import SERVICES
from tests.contract.drivers import (
    ConsoleDriver,
    CustomerCards,
    DingTalkDriver,
    SlackDriver,
    WeComDriver,
    contains,
    eventually,
    having,
    press_in_dm,
    settled,
)
from tests.platforms.console_world import messages
from tests.platforms.dingtalk_world import TRIAGE, control_id
from tests.platforms.dingtalk_world import card_text as dingtalk_card_text
from tests.platforms.slack_world import action_id, card_text
from tests.platforms.wecom_world import card_event_xml

SCREENSHOT = (Path(__file__).resolve().parent.parent / "fixtures" / "files" / "screenshot.png").read_bytes()


async def test_ticket_story(driver):
    await driver.customer_says("我的订单页面打不开")
    answer = await eventually(lambda: having(driver.customer_texts(), "T-000001"))
    assert "已为您创建工单" in answer
    assert "我的订单页面打不开" in await eventually(lambda: contains(driver.card_text(), "T-000001"))

    await driver.press("claim")
    await eventually(lambda: contains(driver.card_text(), "处理中"))
    await driver.press("priority", "P1")
    await eventually(lambda: contains(driver.card_text(), "P1 · 高"))

    await driver.command("note T-000001 looks like the CDN")
    await driver.command("reply T-000001 请清除浏览器缓存后再试")
    reply = await eventually(lambda: having(driver.customer_texts(), "请清除浏览器缓存后再试"))
    assert driver.agent_name in reply

    await driver.press("resolve")
    await eventually(lambda: contains(driver.card_text(), "已解决"))
    assert await eventually(lambda: having(driver.customer_texts(), "已解决"))
    await driver.press("close")
    closed = await eventually(lambda: contains(driver.card_text(), "已关闭"))
    assert "tb:ticket:reopen" in closed and "tb:ticket:claim" not in closed
    assert not [t for t in await driver.customer_texts() if "CDN" in t], "internal notes never reach the customer"

    async with driver.app[SERVICES].store.unit() as uow:
        kinds = [e.kind for e in await uow.timeline(1)]
    assert kinds[0] == "created" and {"assigned", "priority", "note", "reply"} <= set(kinds)


async def test_nothing_closes_silently(driver):
    """A close without an answer asks for a reason; the customer hears of the close and where they write next."""
    await driver.customer_says("我的订单页面打不开")
    await eventually(lambda: having(driver.customer_texts(), "T-000001"))
    await eventually(lambda: contains(driver.card_text(), "T-000001"))

    await driver.press("close")
    asked = await eventually(lambda: having(driver.agent_texts(), " T-000001 <"))  # the command to type
    assert "<reason>" in asked or "<原因>" in asked, asked
    assert "已关闭" not in await driver.card_text(), "nothing changed"

    await driver.command("close T-000001 已电话联系解决")
    told = await eventually(lambda: having(driver.customer_texts(), "已关闭"))
    assert "T-000001" in told and "已电话联系解决" in told
    await eventually(lambda: contains(driver.card_text(), "已关闭"))

    await driver.customer_says("还是打不开")
    linked = await eventually(lambda: having(driver.customer_texts(), "T-000002"))
    assert "T-000001" in linked and "已关闭" in linked


async def test_a_customers_screenshot_reaches_the_agent(driver):
    if not hasattr(driver, "customer_sends_picture"):
        pytest.skip("DingTalk's pictures (downloadCode) join when its adapter takes files")
    await driver.customer_sends_picture("付款页面报错，截图如下", SCREENSHOT)
    await eventually(lambda: having(driver.customer_texts(), "T-000001"))
    assert await eventually(driver.pictures_agent_sees) == [SCREENSHOT]
    async with driver.app[SERVICES].store.unit() as uow:
        [kept] = await uow.attachments.attachments_of(1)
        opened = [e for e in await uow.timeline(1) if e.kind in ("created", "customer_message")]
    assert kept.size == len(SCREENSHOT) and kept.public and kept.entry_id in [e.id for e in opened]
    assert "付款页面报错" in opened[0].text


class Colleague:
    """赵会计 of Finance, on the same platform as the story's agent: their card, their presses, their words."""

    def __init__(self, driver):
        self.driver = driver

    async def card_text(self) -> str:
        d = self.driver
        if isinstance(d, ConsoleDriver):
            cards = [m for m in await messages(d.client, "zhao") if m["conversation"] == "zhao" and m["card"]]
            return html.unescape(cards[-1]["html"]) if cards else ""
        if isinstance(d, SlackDriver):
            cards = [c for c in d.world.fake.calls if c.status == 200 and c.args.get("channel") == "D0ZHAO"
                     and c.method in ("chat.postMessage", "chat.update") and c.args.get("blocks")]
            return card_text(cards[-1].args) if cards else ""
        if isinstance(d, DingTalkDriver):
            cards = d.world.fake.cards_to("staff-zhao")
            return dingtalk_card_text(cards[-1]) if cards else ""
        cards = d.fake.cards("zhao")
        if not cards:
            return ""
        card = cards[-1][1]["template_card"]
        rows = [f"{r['keyname']}: {r['value']}" for r in card.get("horizontal_content_list", [])]
        return "\n".join([card["main_title"]["title"], card.get("sub_title_text", ""), *rows,
                          *[b["key"] for b in card.get("button_list", [])]])

    async def press(self, verb: str) -> None:
        await press_in_dm(self.driver, "zhao", "request", verb)

    async def texts(self) -> list[str]:
        """What the bot wrote to them alone (in their DM with it)."""
        d = self.driver
        if isinstance(d, ConsoleDriver):
            return [html.unescape(m["html"]) for m in await messages(d.client, "zhao")
                    if m["conversation"] == "zhao" and m["bot"] and not m["card"]]
        if isinstance(d, SlackDriver):
            return d.world.texts_to("D0ZHAO") + d.world.texts_to("D0ZHAO", "chat.postEphemeral")
        if isinstance(d, DingTalkDriver):
            return d.world.fake.texts_to_user("staff-zhao") + d.world.fake.hook_texts("staff-zhao")
        return [b["text"]["content"] for p, _q, b in d.fake.calls
                if p == "message/send" and b.get("touser") == "zhao" and b["msgtype"] == "text"]

    async def answers_by_form(self, text: str) -> None:
        """Presses Answer and answers: in the form where the platform has one (Slack's modal, the console's form),
        else with the reply the press says to send (WeCom and DingTalk bots have no forms)."""
        d = self.driver
        if isinstance(d, ConsoleDriver):
            await eventually(lambda: settled(d.app))
            card = [m for m in await messages(d.client, "zhao") if m["conversation"] == "zhao" and m["card"]][-1]
            control = re.search(r'data-action="(tb:request:answer:\d+:\d+)"', card["html"]).group(1)
            answer = await (await d.client.post("/console/api/press", json={
                "as": "zhao", "conversation": "zhao", "ref": card["ref"], "action": control})).json()
            shown = answer["form"]["html"]
            assert "请核对发票金额" in shown and 'name="answer"' in shown
            subject, version = re.search(r'data-subject="(\d+)" data-version="(\d+)"', shown).groups()
            response = await d.client.post("/console/api/form", json={
                "as": "zhao", "conversation": "zhao", "form": answer["form"]["kind"], "subject": int(subject),
                "version": int(version), "fields": {"answer": text, "attachment": ""}, "id": "answer-1"})
            assert response.status == 200
            return
        if isinstance(d, SlackDriver):
            await self.press("answer")
            [opened] = await eventually(lambda: d.world.fake.of("views.open"))
            view = opened["view"] if isinstance(opened["view"], dict) else json.loads(opened["view"])
            payload = {"type": "view_submission", "user": {"id": "U0ZHAO", "name": "zhao"}, "team": {"id": "T0OURS"},
                       "view": {**view, "id": "V1", "hash": "h1", "state": {"values": {
                           "answer": {"value": {"type": "plain_text_input", "value": text}}}}}}
            response = await d.world.post(f"payload={quote(json.dumps(payload))}", "application/x-www-form-urlencoded")
            assert response.status == 200 and not (await response.read())
            return
        await self.press("answer")
        told = await eventually(lambda: having(self.texts(), "R-000001 <内容>"))
        assert "工单 答复" in told, told  # the reply that does what the form does
        await self.says(f"工单 答复 R-000001 {text}")

    async def says(self, text: str) -> None:
        """Writes to the bot in their DM (the answer to the request open for them)."""
        d = self.driver
        if isinstance(d, ConsoleDriver):
            await d.client.post("/console/api/send", json={"as": "zhao", "conversation": "zhao", "text": text})
        elif isinstance(d, SlackDriver):
            await d.world.say("U0ZHAO", text, "D0ZHAO")
        elif isinstance(d, DingTalkDriver):
            response = await d.world.say("staff-zhao", text, nick="赵会计")
            assert response.status == 200
        else:
            await d._text("zhao", text)


async def test_asking_finance_story(driver):
    """Agent asks Finance on a ticket → the colleague's card → accept → answer in their DM → the ticket's timeline
    → the ticket back in progress → the agent answers the customer."""
    finance = Colleague(driver)
    await driver.customer_says("发票金额不对")
    await eventually(lambda: having(driver.customer_texts(), "T-000001"))
    await eventually(lambda: contains(driver.card_text(), "T-000001"))
    await driver.press("claim")
    await eventually(lambda: contains(driver.card_text(), "处理中"))

    await driver.command("ask T-000001 @finance 请核对发票金额 截止 2h")
    card = await eventually(lambda: contains(finance.card_text(), "R-000001"))
    assert "请核对发票金额" in card and "T-000001" in card
    await eventually(lambda: contains(driver.card_text(), "等待同事"))

    await finance.press("accept")
    await eventually(lambda: contains(finance.card_text(), "处理中"))
    await finance.says("金额无误，可以退款")
    await eventually(lambda: contains(finance.card_text(), "已答复"))
    await eventually(lambda: contains(driver.card_text(), "处理中"))

    await driver.command("reply T-000001 已核实金额，退款处理中")
    assert await eventually(lambda: having(driver.customer_texts(), "退款处理中"))
    assert not [t for t in await driver.customer_texts() if "金额无误" in t], "the colleague's answer stays internal"
    async with driver.app[SERVICES].store.unit() as uow:
        steps = [e.detail["event"] for e in await uow.timeline(1) if e.kind == "request"]
    assert steps == ["asked", "accepted", "answered"]


async def test_answering_finance_by_form_story(driver):
    """Agent asks Finance → the colleague presses Answer: a form on Slack and the console, the reply it describes on
    WeCom and DingTalk → the answer on the ticket's timeline, the card answered, the ticket back in progress."""
    finance = Colleague(driver)
    await driver.customer_says("发票金额不对")
    await eventually(lambda: having(driver.customer_texts(), "T-000001"))
    await eventually(lambda: contains(driver.card_text(), "T-000001"))
    await driver.press("claim")
    await eventually(lambda: contains(driver.card_text(), "处理中"))
    await driver.command("ask T-000001 @finance 请核对发票金额 截止 2h")
    await eventually(lambda: contains(finance.card_text(), "R-000001"))
    await eventually(lambda: contains(driver.card_text(), "等待同事"))

    await finance.answers_by_form("金额无误，可以退款")
    await eventually(lambda: contains(finance.card_text(), "已答复"))
    await eventually(lambda: contains(driver.card_text(), "处理中"))
    async with driver.app[SERVICES].store.unit() as uow:
        steps = [(e.detail["event"], e.text) for e in await uow.timeline(1) if e.kind == "request"]
    assert steps == [("asked", "请核对发票金额"), ("answered", "金额无误，可以退款")]
    assert not [t for t in await driver.customer_texts() if "金额无误" in t], "the colleague's answer stays internal"


async def test_knowledge_base_story(driver):
    """Search the knowledge base, send an article to the customer (their first answer), save the solved ticket."""
    from bot.kb import ArticleDraft, ArticleVisibility

    async with driver.app[SERVICES].store.unit() as uow:
        await uow.kb.add_article(ArticleDraft(title="发票抬头开错了如何重开", problem="电子发票上的公司名称写错了",
                                              solution="在「我的订单 → 发票详情」点击申请换开",
                                              visibility=ArticleVisibility.PUBLIC), author="lin")
    await driver.customer_says("发票抬头写错了，能重新开吗")
    await eventually(lambda: having(driver.customer_texts(), "T-000001"))

    await driver.command("kb 公司名称 写错")
    found = await eventually(lambda: having(driver.agent_texts(), "“公司名称 写错”"))
    assert "KB-1 发票抬头开错了如何重开" in found and "电子发票上的公司名称写错了" in found, "with the passage that matched"
    await driver.command("kb send T-000001 KB-1")
    sent = await eventually(lambda: having(driver.customer_texts(), "申请换开"))
    assert "KB-1" in sent and driver.agent_name in sent

    await driver.command("resolve T-000001 已换开")
    await eventually(lambda: having(driver.customer_texts(), "已换开"))
    await driver.command("kb save T-000001")
    await eventually(lambda: having(driver.agent_texts(), "KB-2"))
    async with driver.app[SERVICES].store.unit() as uow:
        ticket = await uow.get_ticket(1)
        [reply] = [e for e in await uow.timeline(1) if e.kind == "reply"]
        draft = await uow.kb.get_article(2)
    assert ticket.first_response_at is not None and reply.detail == {"article": "KB-1"}
    assert draft.problem == "发票抬头写错了，能重新开吗" and draft.source_tickets == (1,)


async def _edit_draft_title(driver, title: str) -> None:
    """The agent presses Edit on the draft's card and changes its title: in the form where the platform has one,
    else with the command the press answers with."""
    await eventually(lambda: settled(driver.app))
    if isinstance(driver, ConsoleDriver):
        cards = [m for m in await messages(driver.client, "alice") if m["card"] and "tb:article:edit" in m["html"]]
        control = re.search(r'data-action="(tb:article:edit:\d+:\d+)"', cards[-1]["html"]).group(1)
        answer = await (await driver.client.post("/console/api/press", json={
            "as": "alice", "conversation": "triage", "ref": cards[-1]["ref"], "action": control})).json()
        shown = answer["form"]["html"]
        assert 'value="发票抬头写错了，能重新开吗"' in shown and 'name="visibility"' in shown  # prefilled
        subject, version = re.search(r'data-subject="(\d+)" data-version="(\d+)"', shown).groups()
        response = await driver.client.post("/console/api/form", json={
            "as": "alice", "conversation": "triage", "form": "article_edit", "subject": int(subject),
            "version": int(version), "fields": {"title": title, "visibility": "internal"}})
        assert response.status == 200
        return
    if isinstance(driver, SlackDriver):
        card = [c for c in driver.world.triage_cards() if "tb:article:edit" in card_text(c)][-1]
        await driver.world.press("U0ALICE", card, action_id(card, "edit"))
        [opened] = await eventually(lambda: driver.world.fake.of("views.open"))
        view = opened["view"] if isinstance(opened["view"], dict) else json.loads(opened["view"])
        values = {"title": {"value": {"type": "plain_text_input", "value": title}},
                  "visibility": {"value": {"type": "static_select", "selected_option": {"value": "internal"}}}}
        payload = {"type": "view_submission", "user": {"id": "U0ALICE", "name": "alice"}, "team": {"id": "T0OURS"},
                   "view": {**view, "id": "V9", "hash": "h9", "state": {"values": values}}}
        assert (await driver.world.post(f"payload={quote(json.dumps(payload))}",
                                        "application/x-www-form-urlencoded")).status == 200
        return
    if isinstance(driver, WeComDriver):
        card = [b["template_card"] for _p, b in driver.fake.cards(driver.AGENT) if "tb:article:edit" in json.dumps(b)][-1]
        key = next(b["key"] for b in card["button_list"] if b["key"].split(":")[2] == "edit")
        await asyncio.sleep(0.002)
        await driver._post(card_event_xml(driver.AGENT, key, "RC", card["task_id"]))
    else:
        card = [c for c in driver.world.fake.cards_in(TRIAGE) if "tb:article:edit" in dingtalk_card_text(c)][-1]
        response = await driver.world.post(driver.world.card_callback(driver.AGENT, card, control_id(card, "edit")))
        assert response.status == 200
    told = await eventually(lambda: having(driver.agent_texts(), "工单 知识库 编辑 KB-"))
    assert "标题|问题|解决方案" in told, told
    await driver.command(f"知识库 编辑 KB-2 标题 {title}")


async def test_knowledge_base_draft_edit_story(driver):
    """Resolve → save the ticket as a draft → its card's Edit: a form on Slack and the console (prefilled), the
    command it names on WeCom and DingTalk → a new version, the card showing it."""
    from bot.kb import ArticleDraft

    async with driver.app[SERVICES].store.unit() as uow:  # so the draft is KB-2 on every platform
        await uow.kb.add_article(ArticleDraft(title="一篇旧文章"), author="lin")
    await driver.customer_says("发票抬头写错了，能重新开吗")
    await eventually(lambda: having(driver.customer_texts(), "T-000001"))
    await driver.command("resolve T-000001 已换开")
    await eventually(lambda: having(driver.customer_texts(), "已换开"))
    await driver.command("kb save T-000001")
    await eventually(lambda: having(driver.agent_texts(), "KB-2"))

    await _edit_draft_title(driver, "发票抬头错了怎么换开")
    async def saved():
        async with driver.app[SERVICES].store.unit() as uow:
            article = await uow.kb.get_article(2)
        return article if article.version == 2 else None
    article = await eventually(saved)
    assert article.title == "发票抬头错了怎么换开" and article.solution.startswith("已换开")
    assert article.problem == "发票抬头写错了，能重新开吗", "what the edit left alone stays"


class SurveyCustomer(CustomerCards):
    """The story's customer answering the CSAT survey on the same platform (DingTalk's outsider types numbers)."""

    marker = "tb:survey:"

    async def survey_text(self) -> str:
        """The survey as the customer sees it now (its latest copy), '' before it came."""
        text = await self.latest_card_text()
        if text is not None:
            return text
        # An outsider's copy is markdown, never updated: what they see of it is every line about it so far.
        texts = await self.driver.customer_texts()
        start = next((i for i, t in enumerate(texts) if "满意" in t), len(texts))
        return "\n".join(texts[start:])

    async def assignee_texts(self) -> list[str]:
        """What the ticket's assignee (the story's agent) was told in their own DM, and where the driver looks."""
        d = self.driver
        if isinstance(d, ConsoleDriver):
            return [html.unescape(m["html"]) for m in await messages(d.client, "alice")
                    if m["conversation"] == "alice" and m["bot"] and not m["card"]]
        if isinstance(d, SlackDriver):
            return d.world.texts_to("U0ALICE") + d.world.texts_to("D0ALICE")
        return await d.agent_texts()

    async def press(self, number: int) -> None:
        """Press the survey card's button for `number` (0: not solved); types it where there are no buttons."""
        await self.press_or_type("survey", f"rate{number}", number)


async def _survey_lines(app) -> list[tuple[str, str | None, str | None]]:
    async with app[SERVICES].store.unit() as uow:
        return [(e.detail["event"], e.detail.get("score"), e.text) for e in await uow.timeline(1) if e.kind == "csat"]


async def _window_passes(app, minutes: int = 11) -> None:
    """As if `minutes` had passed since the answer (the app runs on the system clock): move the answer back."""
    from datetime import timedelta

    from sqlalchemy import update

    from storage.csat_tables import CsatRow
    async with app[SERVICES].store.unit() as uow:
        survey = await uow.surveys().get(1)
        await uow.session.execute(update(CsatRow).where(CsatRow.id == 1).values(
            rated_at=survey.rated_at - timedelta(minutes=minutes)))


async def _resolved_story(driver) -> SurveyCustomer:
    customer = SurveyCustomer(driver)
    await driver.customer_says("我的订单页面打不开")
    await eventually(lambda: having(driver.customer_texts(), "T-000001"))
    await eventually(lambda: contains(driver.card_text(), "T-000001"))
    await driver.press("claim")
    await eventually(lambda: contains(driver.card_text(), "处理中"))
    await driver.command("resolve T-000001 已修复页面缓存")
    await eventually(lambda: contains(driver.card_text(), "已解决"))
    return customer


async def test_csat_survey_story(driver):
    """Resolve → the survey in the customer's conversation → they rate 4 → a comment → a second answer within the
    window changes it → after the window one is refused politely; the score is on the timeline and the card."""
    customer = await _resolved_story(driver)
    survey = await eventually(lambda: contains(customer.survey_text(), "您对本次服务满意吗"))
    assert "还没解决" in survey and "T-000001" in survey

    await driver.customer_says("4")
    assert await eventually(lambda: having(driver.customer_texts(), "4 / 5"))
    await driver.customer_says("工程师很耐心")
    assert await eventually(lambda: having(driver.customer_texts(), "感谢您的反馈"))
    await customer.press(5)
    await eventually(lambda: contains(customer.survey_text(), "5 / 5"))
    assert await eventually(lambda: having(driver.customer_texts(), "5 / 5"))

    await _window_passes(driver.app)
    await customer.press(1)
    assert await eventually(lambda: having(driver.customer_texts(), "已评价过"))
    assert await _survey_lines(driver.app) == [("rated", "4", None), ("commented", "4", "工程师很耐心"),
                                               ("changed", "5", None)]
    assert "满意度" in await eventually(lambda: contains(driver.card_text(), "5 / 5"))
    async with driver.app[SERVICES].store.unit() as uow:
        assert (await uow.get_ticket(1)).status == "resolved", "answering the survey never reopens the ticket"


async def test_csat_not_solved_reopens_and_tells_the_assignee(driver):
    customer = await _resolved_story(driver)
    await eventually(lambda: contains(customer.survey_text(), "您对本次服务满意吗"))
    await customer.press(0)
    assert await eventually(lambda: having(driver.customer_texts(), "已重新打开"))
    await eventually(lambda: contains(driver.card_text(), "已分诊"))
    async def told():  # in the assignee's own language
        return [t for t in await customer.assignee_texts() if "T-000001" in t and ("还没解决" in t or "not solved" in t)]
    assert await eventually(told)
    assert await _survey_lines(driver.app) == [("not_solved", None, None)]
