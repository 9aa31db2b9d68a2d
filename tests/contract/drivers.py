"""The contract suite's drivers: each speaks one platform's wire (signed, encrypted) to the real app and reads what the
real SDK clients sent to the local fakes, so one story runs unchanged on the console, Slack, WeCom and DingTalk."""

from __future__ import annotations

import asyncio
import html
import json
import re

import aiohttp
import pytest

from bot.app import SERVICES
from tests.platforms.console_world import messages
from tests.platforms.dingtalk_world import TRIAGE, control_id
from tests.platforms.dingtalk_world import card_text as dingtalk_card_text
from tests.platforms.slack_world import action_id, card_text
from tests.platforms.wecom_world import SAMPLE, card_event_xml, encrypted, text_xml
from tests.waiting import eventually

PLATFORMS = ("console", "slack", "wecom", "dingtalk")


def on_platform(request: pytest.FixtureRequest, kinds: dict) -> object:
    """The `request.param` platform's test app wrapped in its class from `kinds` (WeCom's fixture is a pair)."""
    made = request.getfixturevalue(request.param)
    return kinds[request.param](*made) if request.param == "wecom" else kinds[request.param](made)




async def settled(app) -> bool:
    """Everything the bot meant to send has been sent — what a person sees before they click again."""
    rows = await app[SERVICES].store.outbox_rows()
    return all(row.status in ("sent", "dead") for row in rows)


class Driver:
    """What every platform driver offers; a press waits, like a person, for the card to show the latest state."""

    app = None
    platform = ""  # its name in the config (console, slack, wecom, dingtalk)
    customer_conversation = ""  # the id of the conversation the customer writes in, as the adapter names it

    async def press(self, verb, value=None):
        await eventually(lambda: settled(self.app))
        await self._press(verb, value)

    async def _press(self, verb, value=None):
        raise NotImplementedError


class ConsoleDriver(Driver):
    """The story through the console's HTTP API (what the page does)."""

    agent_name = "Alice Wang"
    platform = "console"
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
    platform = "slack"
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
    platform = "wecom"
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
        await eventually(lambda: having(self.customer_texts(), "T-000001"))  # a person sends the picture after
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
    platform = "dingtalk"
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


async def having(texts, fragment):
    """The first of `texts` (awaited) that holds `fragment`, else None."""
    return next((t for t in await texts if fragment in t), None)


async def contains(text, fragment):
    """`text` (awaited) when it holds `fragment`, else None."""
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
