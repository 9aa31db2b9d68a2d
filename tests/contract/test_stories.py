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

import aiohttp
import pytest

from bot.app import SERVICES
from tests.platforms.console_world import messages
from tests.platforms.dingtalk_world import TRIAGE, control_id
from tests.platforms.dingtalk_world import card_text as dingtalk_card_text
from tests.platforms.slack_world import action_id, card_text
from tests.platforms.wecom_world import SAMPLE, card_event_xml, encrypted, text_xml

SCREENSHOT = (Path(__file__).resolve().parent.parent / "fixtures" / "files" / "screenshot.png").read_bytes()


async def eventually(check, timeout: float = 10.0):
    """Poll an async or plain check until it is truthy."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return result
        assert asyncio.get_running_loop().time() < deadline, "the platform never showed it"
        await asyncio.sleep(0.05)


async def settled(app) -> bool:
    """Everything the bot meant to send has been sent — what a person sees before they click again."""
    rows = await app[SERVICES].store.outbox_rows()
    return all(row.status in ("sent", "dead") for row in rows)


class Driver:
    """What every platform driver offers; a press waits, like a person, for the card to show the latest state."""

    app = None
    customer_conversation = ""  # the id of the conversation the customer writes in, as the adapter names it

    async def press(self, verb, value=None):
        await eventually(lambda: settled(self.app))
        await self._press(verb, value)

    async def _press(self, verb, value=None):
        raise NotImplementedError


class ConsoleDriver(Driver):
    """The story through the console's HTTP API (what the page does)."""

    agent_name = "Alice Wang"
    customer_conversation = "wang-store"

    def __init__(self, client):
        self.client = client
        self.app = client.app

    async def customer_says(self, text):
        await self.client.post("/console/api/send", json={"as": "wang-store", "conversation": "wang-store", "text": text})

    async def customer_texts(self):
        return [m["html"] for m in await messages(self.client, "wang-store") if m["bot"] and not m["card"]]

    async def card(self):
        cards = [m for m in await messages(self.client, "alice") if m["conversation"] == "triage" and m["card"]]
        return cards[-1] if cards else None

    async def card_text(self):
        card = await self.card()
        return card["html"] if card else ""

    async def _press(self, verb, value=None):
        card = await self.card()
        control = re.search(rf'data-action="(tb:[a-z_]+:{verb}:\d+:\d+(?::\d+)?)"', card["html"]).group(1)
        await self.client.post("/console/api/press", json={"as": "alice", "conversation": "triage", "ref": card["ref"],
                                                           "action": control, "value": value})

    async def command(self, text):
        await self.client.post("/console/api/send", json={"as": "alice", "conversation": "triage", "text": f"/ticket {text}"})

    async def agent_texts(self):
        return [html.unescape(m["html"]) for m in await messages(self.client, "alice")
                if m["conversation"] == "triage" and m["bot"] and not m["card"]]

    async def customer_sends_picture(self, text, data):
        form = aiohttp.FormData()
        for name, value in (("as", "wang-store"), ("conversation", "wang-store"), ("text", text)):
            form.add_field(name, value)
        form.add_field("file", data, filename="screenshot.png", content_type="image/png")
        assert (await self.client.post("/console/api/upload", data=form)).status == 200

    async def pictures_agent_sees(self):
        found = []
        for m in await messages(self.client, "alice"):
            for number in re.findall(r'<img data-attachment="(\d+)"', m["html"]):
                response = await self.client.get(f"/console/api/attachments/{number}", params={"as": "alice"})
                found.append(await response.read())
        return found


class SlackDriver(Driver):
    """The story through signed Slack requests; what we see is what the real SDK sent to the fake API."""

    agent_name = "Alice Wang"
    customer_conversation = "D0CUST"

    def __init__(self, world):
        self.world = world
        self.app = world.client.app

    async def customer_says(self, text):
        await self.world.say("U0CUST", text, "D0CUST")

    async def customer_texts(self):
        return self.world.texts_to("D0CUST")

    async def card_text(self):
        cards = self.world.triage_cards()
        return card_text(cards[0]) if cards else ""

    async def _press(self, verb, value=None):
        card = self.world.triage_cards()[0]
        kind = "static_select" if value is not None else "button"
        await self.world.press("U0ALICE", card, action_id(card, verb), value=value, kind=kind)

    async def command(self, text):
        await self.world.command("U0ALICE", text)

    async def agent_texts(self):
        return self.world.texts_to("C0TRIAGE", "chat.postEphemeral")

    async def customer_sends_picture(self, text, data):
        url = self.world.fake.host_file("T0OURS-F0SHOT01/download/screenshot.png", data)
        body = self.world.fixture("event_file_share_dm")
        body["event"]["text"] = text
        body["event"]["files"][0].update(url_private=url, url_private_download=url, size=len(data))
        await self.world.event(body)

    async def pictures_agent_sees(self):
        shared = [json.loads(a["files"])[0]["id"] for a in self.world.fake.of("files.completeUploadExternal")
                  if a.get("channel_id") == "C0TRIAGE"]
        return [self.world.fake.uploads[file_id] for file_id in shared]


class WeComDriver(Driver):
    """The story through encrypted WeCom callbacks. App group chats cannot carry interactive cards, so the
    agent asks for the card in their own app chat (`工单 查看`) and works it from there."""

    AGENT = "linfang"  # the lead 林芳 works in Chinese, like the shared triage channel of the other drivers
    agent_name = "林芳"
    customer_conversation = "customer-w"

    def __init__(self, client, fake):
        self.client, self.fake = client, fake
        self.app = client.app
        self.n = 1000
        self.asked = False

    async def _post(self, xml: str):
        query, body = encrypted(xml)
        response = await self.client.post("/wecom/callback", params=query, data=body)
        assert response.status == 200

    async def _text(self, user: str, content: str):
        self.n += 1
        await self._post(text_xml(user, content, self.n))

    async def customer_says(self, text):
        await self._text("customer-w", text)

    async def customer_texts(self):
        return [b["text"]["content"] for p, _q, b in self.fake.calls
                if p == "message/send" and b.get("touser") == "customer-w" and b["msgtype"] == "text"]

    def _latest_card(self):
        cards = self.fake.cards(self.AGENT)
        return cards[-1][1]["template_card"] if cards else None

    async def card_text(self):
        if not self.asked:
            self.asked = True
            await self._text(self.AGENT, "工单 查看 T-000001")
        card = self._latest_card()
        if card is None:
            return ""
        keys = [b["key"] for b in card.get("button_list", [])] + [card.get("button_selection", {}).get("question_key", "")]
        rows = [f"{r['keyname']}: {r['value']}" for r in card["horizontal_content_list"]]
        return "\n".join([card["main_title"]["title"], card.get("sub_title_text", ""), *rows, *keys])

    async def _press(self, verb, value=None):
        card = self._latest_card()
        if value is None:
            key = next(b["key"] for b in card["button_list"] if b["key"].split(":")[2] == verb)
            xml = card_event_xml(self.AGENT, key, "RC", card["task_id"])
        else:
            key = card["button_selection"]["question_key"]
            xml = card_event_xml(self.AGENT, key, "RC", card["task_id"], question=key, option=value)
        await asyncio.sleep(0.002)  # events are told apart by sender + create time + key, as WeCom does
        await self._post(xml)

    async def command(self, text):
        await self._text(self.AGENT, f"工单 {text}")

    async def agent_texts(self):
        return [b["text"]["content"] for p, _q, b in self.fake.calls
                if p == "message/send" and b.get("touser") == self.AGENT and b["msgtype"] == "text"]

    async def customer_sends_picture(self, text, data):
        # WeCom sends the text and the picture as two messages; the picture is fetched by its MediaId.
        await self.customer_says(text)
        await eventually(lambda: _having(self.customer_texts(), "T-000001"))  # a person sends the picture after
        self.fake.host("MEDIA-SHOT", data, "image/png")
        self.n += 1
        await self._post(f"<xml><ToUserName><![CDATA[{SAMPLE['corp_id']}]]></ToUserName><FromUserName><![CDATA["
                         f"customer-w]]></FromUserName><CreateTime>1700000000</CreateTime><MsgType><![CDATA[image]]>"
                         f"</MsgType><PicUrl><![CDATA[https://example.com/x.png]]></PicUrl><MediaId><![CDATA[MEDIA-SHOT]]>"
                         f"</MediaId><MsgId>{self.n}</MsgId><AgentID>218</AgentID></xml>")

    async def pictures_agent_sees(self):
        # The ticket's assignee (WeCom has no triage group chat in the sample) gets it as an image message.
        async with self.app[SERVICES].store.unit() as uow:
            ticket = await uow.get_ticket(1)
        member = self.app[SERVICES].directory.person(ticket.assignee).identity_on("wecom") if ticket else None
        return [self.fake.media[b["image"]["media_id"]][2] for p, _q, b in self.fake.calls
                if p == "message/send" and b.get("touser") == member and b["msgtype"] == "image"]


class DingTalkDriver(Driver):
    """The story through signed DingTalk callbacks: an outsider writes to the robot 1:1, the lead works the
    interactive card in the triage group (@-mentioning the robot for commands; private answers reach her 1:1)."""

    CUSTOMER = "$:LWCP_v1:$wangStore"
    AGENT = "staff-linfang"
    agent_name = "林芳"
    customer_conversation = CUSTOMER  # an outsider's 1:1 chat is named by their senderId

    def __init__(self, world):
        self.world = world
        self.app = world.client.app

    async def customer_says(self, text):
        response = await self.world.say(None, text, sender_id=self.CUSTOMER, nick="王记小店", external=True)
        assert response.status == 200

    async def customer_texts(self):
        return self.world.fake.hook_texts(self.CUSTOMER)

    def _card(self):
        cards = self.world.fake.cards_in(TRIAGE)
        return cards[0] if cards else None

    async def card_text(self):
        card = self._card()
        return dingtalk_card_text(card) if card else ""

    async def _press(self, verb, value=None):
        card = self._card()
        response = await self.world.post(self.world.card_callback(self.AGENT, card, control_id(card, verb, value)))
        assert response.status == 200

    async def command(self, text):
        response = await self.world.say(self.AGENT, f"工单 {text}", group=TRIAGE, nick="林芳")
        assert response.status == 200

    async def agent_texts(self):
        fake = self.world.fake
        return fake.texts_to_user(self.AGENT) + fake.hook_texts(TRIAGE) + fake.texts_to_group(TRIAGE)

    async def customer_sends_picture(self, text, data):
        # DingTalk sends text and pictures as one richText message; a picture is fetched by its downloadCode.
        self.world.fake.host("dlcSHOT", data)
        body = self.world.message(None, "", sender_id=self.CUSTOMER, nick="王记小店", external=True)
        del body["text"]
        body.update(msgtype="richText", content={"richText": [{"text": text}, {"downloadCode": "dlcSHOT",
                                                                                "type": "picture"}]})
        assert (await self.world.post(body)).status == 200

    async def pictures_agent_sees(self):
        async with self.app[SERVICES].store.unit() as uow:
            ticket = await uow.get_ticket(1)
        person = self.app[SERVICES].directory.person(ticket.assignee) if ticket and ticket.assignee else None
        member = person.identity_on("dingtalk") if person else None
        return self.world.fake.pictures_in(group=TRIAGE, user=member)


@pytest.fixture(params=["console", "slack", "wecom", "dingtalk"])
def driver(request):
    if request.param == "console":
        return ConsoleDriver(request.getfixturevalue("console"))
    if request.param == "slack":
        return SlackDriver(request.getfixturevalue("slack"))
    if request.param == "dingtalk":
        return DingTalkDriver(request.getfixturevalue("dingtalk"))
    return WeComDriver(*request.getfixturevalue("wecom"))


async def test_ticket_story(driver):
    await driver.customer_says("我的订单页面打不开")
    answer = await eventually(lambda: _having(driver.customer_texts(), "T-000001"))
    assert "已为您创建工单" in answer
    assert "我的订单页面打不开" in await eventually(lambda: _contains(driver.card_text(), "T-000001"))

    await driver.press("claim")
    await eventually(lambda: _contains(driver.card_text(), "处理中"))
    await driver.press("priority", "P1")
    await eventually(lambda: _contains(driver.card_text(), "P1 · 高"))

    await driver.command("note T-000001 looks like the CDN")
    await driver.command("reply T-000001 请清除浏览器缓存后再试")
    reply = await eventually(lambda: _having(driver.customer_texts(), "请清除浏览器缓存后再试"))
    assert driver.agent_name in reply

    await driver.press("resolve")
    await eventually(lambda: _contains(driver.card_text(), "已解决"))
    assert await eventually(lambda: _having(driver.customer_texts(), "已解决"))
    await driver.press("close")
    closed = await eventually(lambda: _contains(driver.card_text(), "已关闭"))
    assert "tb:ticket:reopen" in closed and "tb:ticket:claim" not in closed
    assert not [t for t in await driver.customer_texts() if "CDN" in t], "internal notes never reach the customer"

    async with driver.app[SERVICES].store.unit() as uow:
        kinds = [e.kind for e in await uow.timeline(1)]
    assert kinds[0] == "created" and {"assigned", "priority", "note", "reply"} <= set(kinds)


async def test_nothing_closes_silently(driver):
    """A close without an answer asks for a reason; the customer hears of the close and where they write next."""
    await driver.customer_says("我的订单页面打不开")
    await eventually(lambda: _having(driver.customer_texts(), "T-000001"))
    await eventually(lambda: _contains(driver.card_text(), "T-000001"))

    await driver.press("close")
    asked = await eventually(lambda: _having(driver.agent_texts(), " T-000001 <"))  # the command to type
    assert "<reason>" in asked or "<原因>" in asked, asked
    assert "已关闭" not in await driver.card_text(), "nothing changed"

    await driver.command("close T-000001 已电话联系解决")
    told = await eventually(lambda: _having(driver.customer_texts(), "已关闭"))
    assert "T-000001" in told and "已电话联系解决" in told
    await eventually(lambda: _contains(driver.card_text(), "已关闭"))

    await driver.customer_says("还是打不开")
    linked = await eventually(lambda: _having(driver.customer_texts(), "T-000002"))
    assert "T-000001" in linked and "已关闭" in linked


async def test_a_customers_screenshot_reaches_the_agent(driver):
    if not hasattr(driver, "customer_sends_picture"):
        pytest.skip("DingTalk's pictures (downloadCode) join when its adapter takes files")
    await driver.customer_sends_picture("付款页面报错，截图如下", SCREENSHOT)
    await eventually(lambda: _having(driver.customer_texts(), "T-000001"))
    assert await eventually(driver.pictures_agent_sees) == [SCREENSHOT]
    async with driver.app[SERVICES].store.unit() as uow:
        [kept] = await uow.attachments.attachments_of(1)
        opened = [e for e in await uow.timeline(1) if e.kind in ("created", "customer_message")]
    assert kept.size == len(SCREENSHOT) and kept.public and kept.entry_id in [e.id for e in opened]
    assert "付款页面报错" in opened[0].text


async def _having(texts, fragment):
    return next((t for t in await texts if fragment in t), None)


async def _contains(text, fragment):
    value = await text
    return value if fragment in value else None


# Staff who get cards in their DM with the bot: Slack user and DM channel, DingTalk staff id (the console and
# WeCom know them by their directory key).
STAFF_IDS = {"zhao": ("U0ZHAO", "D0ZHAO", "staff-zhao"), "zhou": ("U0ZHOU", "D0ZHOU", "staff-zhou")}


async def press_in_dm(d, person: str, kind: str, verb: str) -> None:
    """Press `verb` on the latest `kind` card in `person`'s DM with the bot, the way the driver's platform does."""
    slack_user, slack_dm, staff_id = STAFF_IDS[person]
    await eventually(lambda: settled(d.app))
    if isinstance(d, ConsoleDriver):
        card = [m for m in await messages(d.client, person) if m["conversation"] == person and m["card"]][-1]
        control = re.search(rf'data-action="(tb:{kind}:{verb}:\d+:\d+)"', card["html"]).group(1)
        await d.client.post("/console/api/press", json={"as": person, "conversation": person, "ref": card["ref"],
                                                        "action": control})
    elif isinstance(d, SlackDriver):
        call = [c for c in d.world.fake.calls if c.status == 200 and c.method == "chat.postMessage"
                and c.args.get("channel") == slack_dm and c.args.get("blocks")][-1]
        card = {"ts": d.world.fake.answer_ts(call), "channel": slack_dm, "blocks": call.args["blocks"]}
        await d.world.press(slack_user, card, action_id(card, verb))
    elif isinstance(d, DingTalkDriver):
        card = d.world.fake.cards_to(staff_id)[-1]
        response = await d.world.post(d.world.card_callback(staff_id, card, control_id(card, verb)))
        assert response.status == 200
    else:
        card = d.fake.cards(person)[-1][1]["template_card"]
        key = next(b["key"] for b in card["button_list"] if b["key"].split(":")[2] == verb)
        await asyncio.sleep(0.002)
        await d._post(card_event_xml(person, key, "RC", card["task_id"]))


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
        told = await eventually(lambda: _having(self.texts(), "R-000001 <内容>"))
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
    await eventually(lambda: _having(driver.customer_texts(), "T-000001"))
    await eventually(lambda: _contains(driver.card_text(), "T-000001"))
    await driver.press("claim")
    await eventually(lambda: _contains(driver.card_text(), "处理中"))

    await driver.command("ask T-000001 @finance 请核对发票金额 截止 2h")
    card = await eventually(lambda: _contains(finance.card_text(), "R-000001"))
    assert "请核对发票金额" in card and "T-000001" in card
    await eventually(lambda: _contains(driver.card_text(), "等待同事"))

    await finance.press("accept")
    await eventually(lambda: _contains(finance.card_text(), "处理中"))
    await finance.says("金额无误，可以退款")
    await eventually(lambda: _contains(finance.card_text(), "已答复"))
    await eventually(lambda: _contains(driver.card_text(), "处理中"))

    await driver.command("reply T-000001 已核实金额，退款处理中")
    assert await eventually(lambda: _having(driver.customer_texts(), "退款处理中"))
    assert not [t for t in await driver.customer_texts() if "金额无误" in t], "the colleague's answer stays internal"
    async with driver.app[SERVICES].store.unit() as uow:
        steps = [e.detail["event"] for e in await uow.timeline(1) if e.kind == "request"]
    assert steps == ["asked", "accepted", "answered"]


async def test_answering_finance_by_form_story(driver):
    """Agent asks Finance → the colleague presses Answer: a form on Slack and the console, the reply it describes on
    WeCom and DingTalk → the answer on the ticket's timeline, the card answered, the ticket back in progress."""
    finance = Colleague(driver)
    await driver.customer_says("发票金额不对")
    await eventually(lambda: _having(driver.customer_texts(), "T-000001"))
    await eventually(lambda: _contains(driver.card_text(), "T-000001"))
    await driver.press("claim")
    await eventually(lambda: _contains(driver.card_text(), "处理中"))
    await driver.command("ask T-000001 @finance 请核对发票金额 截止 2h")
    await eventually(lambda: _contains(finance.card_text(), "R-000001"))
    await eventually(lambda: _contains(driver.card_text(), "等待同事"))

    await finance.answers_by_form("金额无误，可以退款")
    await eventually(lambda: _contains(finance.card_text(), "已答复"))
    await eventually(lambda: _contains(driver.card_text(), "处理中"))
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
    await eventually(lambda: _having(driver.customer_texts(), "T-000001"))

    await driver.command("kb 公司名称 写错")
    found = await eventually(lambda: _having(driver.agent_texts(), "“公司名称 写错”"))
    assert "KB-1 发票抬头开错了如何重开" in found and "电子发票上的公司名称写错了" in found, "with the passage that matched"
    await driver.command("kb send T-000001 KB-1")
    sent = await eventually(lambda: _having(driver.customer_texts(), "申请换开"))
    assert "KB-1" in sent and driver.agent_name in sent

    await driver.command("resolve T-000001 已换开")
    await eventually(lambda: _having(driver.customer_texts(), "已换开"))
    await driver.command("kb save T-000001")
    await eventually(lambda: _having(driver.agent_texts(), "KB-2"))
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
    told = await eventually(lambda: _having(driver.agent_texts(), "工单 知识库 编辑 KB-"))
    assert "标题|问题|解决方案" in told, told
    await driver.command(f"知识库 编辑 KB-2 标题 {title}")


async def test_knowledge_base_draft_edit_story(driver):
    """Resolve → save the ticket as a draft → its card's Edit: a form on Slack and the console (prefilled), the
    command it names on WeCom and DingTalk → a new version, the card showing it."""
    from bot.kb import ArticleDraft

    async with driver.app[SERVICES].store.unit() as uow:  # so the draft is KB-2 on every platform
        await uow.kb.add_article(ArticleDraft(title="一篇旧文章"), author="lin")
    await driver.customer_says("发票抬头写错了，能重新开吗")
    await eventually(lambda: _having(driver.customer_texts(), "T-000001"))
    await driver.command("resolve T-000001 已换开")
    await eventually(lambda: _having(driver.customer_texts(), "已换开"))
    await driver.command("kb save T-000001")
    await eventually(lambda: _having(driver.agent_texts(), "KB-2"))

    await _edit_draft_title(driver, "发票抬头错了怎么换开")
    async def saved():
        async with driver.app[SERVICES].store.unit() as uow:
            article = await uow.kb.get_article(2)
        return article if article.version == 2 else None
    article = await eventually(saved)
    assert article.title == "发票抬头错了怎么换开" and article.solution.startswith("已换开")
    assert article.problem == "发票抬头写错了，能重新开吗", "what the edit left alone stays"


class CustomerCards:
    """The story's customer and one kind of card sent to them (those whose payload holds `marker`): the latest copy
    as they see it, their press on it where their platform shows buttons, their typed number where it does not."""

    marker = ""

    def __init__(self, driver):
        self.driver = driver

    async def _console_cards(self):
        d = self.driver
        return [m for m in await messages(d.client, "wang-store") if m["card"] and self.marker in m["html"]]

    def _slack_cards(self):
        return [c for c in self.driver.world.fake.calls if c.status == 200 and c.args.get("channel") == "D0CUST"
                and c.method in ("chat.postMessage", "chat.update")
                and self.marker in json.dumps(c.args, ensure_ascii=False)]

    def _wecom_cards(self):
        return [body["template_card"] for _path, body in self.driver.fake.cards("customer-w")
                if self.marker in json.dumps(body, ensure_ascii=False)]

    async def latest_card_text(self) -> str | None:
        """The card's latest copy as text ('' before it came); None on a surface without cards (an outsider)."""
        d = self.driver
        if isinstance(d, ConsoleDriver):
            cards = await self._console_cards()
            return html.unescape(cards[-1]["html"]) if cards else ""
        if isinstance(d, SlackDriver):
            cards = self._slack_cards()
            return card_text(cards[-1].args) if cards else ""
        if isinstance(d, WeComDriver):
            cards = self._wecom_cards()
            return json.dumps(cards[-1], ensure_ascii=False) if cards else ""
        return None

    async def press_or_type(self, kind: str, verb: str, number: int) -> None:
        """Press `verb` on the latest `kind` card; type `number` where there are no buttons."""
        d = self.driver
        await eventually(lambda: settled(d.app))
        if isinstance(d, ConsoleDriver):
            card = (await self._console_cards())[-1]
            control = re.search(rf'data-action="(tb:{kind}:{verb}:\d+:\d+)"', card["html"]).group(1)
            await d.client.post("/console/api/press", json={"as": "wang-store", "conversation": "wang-store",
                                                            "ref": card["ref"], "action": control})
        elif isinstance(d, SlackDriver):
            posted = [c for c in self._slack_cards() if c.method == "chat.postMessage"][-1]
            latest = self._slack_cards()[-1]
            card = {"ts": d.world.fake.answer_ts(posted), "channel": "D0CUST", "blocks": latest.args["blocks"]}
            await d.world.press("U0CUST", card, action_id(card, verb))
        elif isinstance(d, WeComDriver):
            card = self._wecom_cards()[-1]
            key = next(b["key"] for b in card["button_list"] if b["key"].split(":")[2] == verb)
            await asyncio.sleep(0.002)
            await d._post(card_event_xml("customer-w", key, "RC", card["task_id"]))
        else:
            await d.customer_says(str(number))


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
    await eventually(lambda: _having(driver.customer_texts(), "T-000001"))
    await eventually(lambda: _contains(driver.card_text(), "T-000001"))
    await driver.press("claim")
    await eventually(lambda: _contains(driver.card_text(), "处理中"))
    await driver.command("resolve T-000001 已修复页面缓存")
    await eventually(lambda: _contains(driver.card_text(), "已解决"))
    return customer


async def test_csat_survey_story(driver):
    """Resolve → the survey in the customer's conversation → they rate 4 → a comment → a second answer within the
    window changes it → after the window one is refused politely; the score is on the timeline and the card."""
    customer = await _resolved_story(driver)
    survey = await eventually(lambda: _contains(customer.survey_text(), "您对本次服务满意吗"))
    assert "还没解决" in survey and "T-000001" in survey

    await driver.customer_says("4")
    assert await eventually(lambda: _having(driver.customer_texts(), "4 / 5"))
    await driver.customer_says("工程师很耐心")
    assert await eventually(lambda: _having(driver.customer_texts(), "感谢您的反馈"))
    await customer.press(5)
    await eventually(lambda: _contains(customer.survey_text(), "5 / 5"))
    assert await eventually(lambda: _having(driver.customer_texts(), "5 / 5"))

    await _window_passes(driver.app)
    await customer.press(1)
    assert await eventually(lambda: _having(driver.customer_texts(), "已评价过"))
    assert await _survey_lines(driver.app) == [("rated", "4", None), ("commented", "4", "工程师很耐心"),
                                               ("changed", "5", None)]
    assert "满意度" in await eventually(lambda: _contains(driver.card_text(), "5 / 5"))
    async with driver.app[SERVICES].store.unit() as uow:
        assert (await uow.get_ticket(1)).status == "resolved", "answering the survey never reopens the ticket"


async def test_csat_not_solved_reopens_and_tells_the_assignee(driver):
    customer = await _resolved_story(driver)
    await eventually(lambda: _contains(customer.survey_text(), "您对本次服务满意吗"))
    await customer.press(0)
    assert await eventually(lambda: _having(driver.customer_texts(), "已重新打开"))
    await eventually(lambda: _contains(driver.card_text(), "已分诊"))
    async def told():  # in the assignee's own language
        return [t for t in await customer.assignee_texts() if "T-000001" in t and ("还没解决" in t or "not solved" in t)]
    assert await eventually(told)
    assert await _survey_lines(driver.app) == [("not_solved", None, None)]
