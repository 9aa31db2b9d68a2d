"""微信客服 on the wire: kf_msg_or_event callbacks encrypted as WeCom does and posted to the real app; a local fake
WeCom API serves kf/sync_msg pages and records kf/send_msg, and we assert on what it received."""

from __future__ import annotations

import asyncio
import itertools
import json

import pytest
from aiohttp import web

from bot.app import SERVICES
from bot.events import Conversation, Platform
from bot.platforms.wecom_api import WeComApi, WeComApiError
from bot.platforms.wecom_kf import KfSender, KfSync, conversation_id
from tests.harness import long_text
from tests.platforms.wecom_world import FIXTURES, FakeWeCom, HostedMedia, encrypted, text_xml
from tests.waiting import eventually

PNG = (FIXTURES.parent / "files" / "screenshot.png").read_bytes()
CALLBACK = json.loads((FIXTURES / "kf_msg_or_event_callback.json").read_text())
FIRST_CONTACT = json.loads((FIXTURES / "kf_sync_msg_first_contact.json").read_text())
BATCHGET = json.loads((FIXTURES / "kf_customer_batchget.json").read_text())
KFID = "wkAJ2GCAAASSm4_FhToWMFea0xAFfd3Q"
CUSTOMER = "wmAJ2GCAAAme1XQRC-NI-q0_ZM9ukoAw"
SYNC_TOKEN = "ENCApHxnGDNAVNY4AaSJKj4Tb5mwsEMzxhFmHVGcra996NR"
OPENED = "已为您创建工单"


class FakeKf(HostedMedia):
    """WeCom's kf API and message/send: serves queued messages in pages by cursor and records every call."""

    def __init__(self):
        self.calls: list[tuple[str, dict, dict]] = []
        self.answers: list[dict] = []  # what sync_msg answered, in order
        self.messages: list[dict] = []
        self.page_size = 1000
        self.delay = 0.0  # makes a sync slow enough for two events to overlap
        self.tokens = itertools.count(1)
        self.msgids = itertools.count(1)
        self.media: dict[str, tuple[str, str, bytes]] = {}  # what media/upload received

    def queue(self, *messages: dict) -> None:
        """Messages WeCom now holds for the app (sync_msg serves them after the caller's cursor)."""
        self.messages.extend(messages)

    async def gettoken(self, request: web.Request) -> web.Response:
        self.calls.append(("gettoken", dict(request.query), {}))
        return web.json_response({"errcode": 0, "errmsg": "ok", "access_token": f"TOKEN{next(self.tokens)}",
                                  "expires_in": 7200})

    async def api(self, request: web.Request) -> web.Response:
        path = request.match_info["path"]
        if path == "media/upload":
            return await FakeWeCom.upload(self, request)
        body = json.loads(await request.text() or "{}")
        self.calls.append((path, dict(request.query), body))
        if path == "kf/sync_msg":
            await asyncio.sleep(self.delay)
            start = int(body["cursor"][1:]) if body.get("cursor") else 0
            page = self.messages[start:start + min(body.get("limit", 1000), self.page_size)]
            end = start + len(page)
            answer = {"errcode": 0, "errmsg": "ok", "next_cursor": f"c{end}", "has_more": int(end < len(self.messages)),
                      "msg_list": page}
            self.answers.append(answer)
            return web.json_response(answer)
        if path == "kf/customer/batchget":
            known = [c for c in BATCHGET["customer_list"] if c["external_userid"] in body["external_userid_list"]]
            return web.json_response({**BATCHGET, "customer_list": known})
        return web.json_response({"errcode": 0, "errmsg": "ok", "msgid": f"sent{next(self.msgids)}"})

    def bodies(self, path: str) -> list[dict]:
        """Bodies of every call to `path`."""
        return [body for p, _q, body in self.calls if p == path]

    def to_customer(self, user: str = CUSTOMER) -> list[str]:
        """Texts sent to a WeChat customer through kf/send_msg."""
        return [b["text"]["content"] for b in self.bodies("kf/send_msg") if b["touser"] == user]

    def to_member(self, member: str) -> list[str]:
        """Texts (and card titles) sent to a member through message/send."""
        return [b["text"]["content"] if b["msgtype"] == "text" else b["template_card"]["main_title"]["title"]
                for b in self.bodies("message/send") if b["touser"] == member]


@pytest.fixture
async def kf(start_wecom):
    fake = FakeKf()
    client, _server = await start_wecom(fake)
    return client, fake


def customer_text(msgid: str, content: str, user: str = CUSTOMER, *, kfid: str = KFID) -> dict:
    """A customer's text as sync_msg lists it (origin 3)."""
    return {"msgid": msgid, "open_kfid": kfid, "external_userid": user, "send_time": 1732068100, "origin": 3,
            "msgtype": "text", "text": {"content": content}}


async def notify(client, *, token: str = SYNC_TOKEN) -> None:
    """WeCom's kf_msg_or_event callback, encrypted and signed like the real one."""
    query, body = encrypted(CALLBACK["xml"].replace(SYNC_TOKEN, token))
    response = await client.post("/wecom/callback", params=query, data=body)
    assert response.status == 200 and await response.text() == ""


async def ticket(client, ticket_id: int = 1):
    async with client.server.app[SERVICES].store.unit() as uow:
        return await uow.get_ticket(ticket_id), await uow.timeline(ticket_id)


def kf_sync(client) -> KfSync:
    """The app's KfSync, found through the callback route (wecom_setup.mount keeps no other handle on it)."""
    route = next(r for r in client.server.app.router.routes() if r.method == "POST" and r.resource.canonical == "/wecom/callback")
    return route.handler.__self__.hooks["kf_msg_or_event"].__self__


async def test_customer_message_opens_a_ticket_answered_through_kf_and_later_ones_join_it(kf):
    client, fake = kf
    fake.queue(*FIRST_CONTACT["msg_list"])  # enter_session (system), the customer's text, a servicer's text
    await notify(client)
    sent = await eventually(lambda: len(fake.to_customer()) >= 2 and fake.to_customer())
    assert fake.answers[0] == FIRST_CONTACT, "the sync answer our fake served is the captured one"
    [sync] = fake.bodies("kf/sync_msg")
    assert sync == {"limit": 1000, "open_kfid": KFID, "token": SYNC_TOKEN}, "first sync: no cursor yet"
    opened = fake.bodies("kf/send_msg")[0]
    assert opened == json.loads((FIXTURES / "kf_send_msg_ticket_opened.json").read_text())
    assert OPENED in sent[0] and "T-000001" in sent[0], "Chinese in, Chinese out"
    assert sent[1].startswith("T-000001"), "the customer's card arrives as text"
    assert not [b for b in fake.bodies("message/send") if b["touser"] == CUSTOMER], "never an app message"
    saved, _timeline = await ticket(client)
    assert saved.customer_name == "张三" and saved.requester.user_id == CUSTOMER
    assert saved.customer_conversation.id == conversation_id(KFID, CUSTOMER)

    fake.queue(customer_text("from_msgid_4622416642169452010", "还是打不开"))
    await notify(client, token="ENCnext")
    await eventually(lambda: len(fake.bodies("kf/sync_msg")) == 2)
    later = fake.bodies("kf/sync_msg")[1]
    assert later["cursor"] == "c3" and later["token"] == "ENCnext", "the next sync starts where the last ended"

    for _ in range(200):  # the message is processed after the sync call returned
        joined = [e.text for e in (await ticket(client))[1] if e.kind == "customer_message"]
        if joined:
            break
        await asyncio.sleep(0.05)
    assert joined == ["还是打不开"], "a later message joins the customer's open ticket"
    assert (await ticket(client, 2))[0] is None, "no second ticket"
    await asyncio.sleep(0.2)
    assert [t for t in fake.to_customer() if OPENED in t] == [sent[0]]


async def _customer_opened_a_ticket(client, fake) -> int:
    """A customer's first message opens T-000001 and is answered; how many messages the customer has by then."""
    fake.queue(customer_text("m1", "发票开错了"))
    await notify(client)
    await eventually(lambda: len(fake.to_customer()) >= 2)
    await asyncio.sleep(0.2)
    return len(fake.to_customer())


async def test_agent_reply_and_resolution_reach_the_customer_and_a_note_does_not(kf):
    client, fake = kf
    before = await _customer_opened_a_ticket(client, fake)

    query, body = encrypted(text_xml("alice.wang", "工单 备注 T-000001 可能是CDN的问题", 501))
    await client.post("/wecom/callback", params=query, data=body)
    await eventually(lambda: [t for t in fake.to_member("alice.wang") if "note" in t.lower()])
    query, body = encrypted(text_xml("alice.wang", "工单 回复 T-000001 请清除浏览器缓存后再试", 502))
    await client.post("/wecom/callback", params=query, data=body)
    reply = await eventually(lambda: fake.to_customer()[before:])
    assert reply == ["[T-000001] Alice Wang：请清除浏览器缓存后再试"], "the reply, and not the internal note"
    assert not [t for t in fake.to_customer() if "CDN" in t]
    last = fake.bodies("kf/send_msg")[-1]
    assert (last["touser"], last["open_kfid"], last["msgtype"]) == (CUSTOMER, KFID, "text")

    query, body = encrypted(text_xml("liming", "工单 解决 T-000001 已修复", 503))
    await client.post("/wecom/callback", params=query, data=body)
    resolved = await eventually(lambda: fake.to_customer()[before + 1:])
    assert "T-000001" in resolved[0] and "已修复" in resolved[0]
    await asyncio.sleep(0.3)
    # The reply, the resolution and its CSAT survey (as text): card changes are not re-sent (5 messages per turn).
    assert len(fake.to_customer()) == before + 3, "card changes are not re-sent to WeChat (5 messages per turn)"
    assert "您对本次服务满意吗" in fake.to_customer()[-1] and "0 = 还没解决" in fake.to_customer()[-1]


async def test_an_agents_reply_as_long_as_wecom_allows_reaches_the_customer_whole(kf):
    """The agent's message fills WeCom's 2,048 bytes; with the name before it the answer needs two kf messages."""
    client, fake = kf
    before = await _customer_opened_a_ticket(client, fake)
    # One line: a command's words are taken as one text (the grammar joins them with single spaces).
    steps = " ".join(f"第{n}步：请在订单页面点击重新开票，然后等待审核通过。" for n in range(1, 26))
    command = f"工单 回复 T-000001 {steps}"
    answer = steps + "." * (2048 - len(command.encode()))  # every byte WeCom lets a member send
    command = f"工单 回复 T-000001 {answer}"
    assert len(command.encode()) == 2048 and len(f"[T-000001] Alice Wang：{answer}".encode()) > 2048
    query, body = encrypted(text_xml("alice.wang", command, 601))
    await client.post("/wecom/callback", params=query, data=body)
    reply = await eventually(lambda: fake.to_customer()[before:] if len(fake.to_customer()) >= before + 2 else None)
    assert all(len(part.encode()) <= 2048 for part in reply)
    assert "".join(reply) == f"[T-000001] Alice Wang：{answer}", "all of it, in order: nothing cut off"
    assert reply[0].endswith(("。", " ")), "cut between two sentences, not inside one"


async def test_a_very_long_answer_takes_at_most_three_of_the_five_messages_kf_allows(aiohttp_server):
    bodies: list[dict] = []

    async def gettoken(_request: web.Request) -> web.Response:
        return web.json_response({"errcode": 0, "access_token": "T", "expires_in": 7200})

    async def send_msg(request: web.Request) -> web.Response:
        bodies.append(json.loads(await request.text()))
        return web.json_response({"errcode": 0, "errmsg": "ok", "msgid": f"m{len(bodies)}"})

    api = web.Application()
    api.router.add_get("/cgi-bin/gettoken", gettoken)
    api.router.add_post("/cgi-bin/kf/send_msg", send_msg)
    server = await aiohttp_server(api)
    wecom = WeComApi(base_url=str(server.make_url("/cgi-bin/")), corp_id="corp", secret="s")
    answer = long_text()
    try:
        ref = await KfSender(api=wecom).post(Conversation(platform=Platform.WECOM, id=conversation_id(KFID, CUSTOMER)),
                                             text=answer)
    finally:
        await wecom.close()
    parts = [b["text"]["content"] for b in bodies]
    assert len(parts) == 3 and ref == "m1"
    assert all(len(part.encode()) <= 2048 for part in parts)
    assert "\n".join(parts[:2]) == answer[:len("\n".join(parts[:2]))], "the beginning, in order"
    assert parts[2].endswith("…"), "the rest is trimmed, and says so"


async def test_redelivered_and_overlapping_events_have_one_effect(kf):
    client, fake = kf
    fake.delay = 0.1
    fake.queue(customer_text("m1", "VPN 连不上"))
    query, body = encrypted(CALLBACK["xml"])
    posts = [client.post("/wecom/callback", params=query, data=body) for _ in range(2)]  # WeCom's retry
    await asyncio.gather(*posts, notify(client, token="ENCother"))  # and a second event close behind
    await eventually(lambda: len(fake.to_customer()) >= 2)
    await eventually(lambda: len(fake.bodies("kf/sync_msg")) == 3)
    await asyncio.sleep(0.3)
    assert len([t for t in fake.to_customer() if OPENED in t]) == 1 and len(fake.to_customer()) == 2
    cursors = [b.get("cursor") for b in fake.bodies("kf/sync_msg")]
    assert cursors == [None, "c1", "c1"], "serialized: each later sync starts from the cursor the first left"

    kf_sync(client).cursors.clear()  # a restart forgets the cursor: the page is read again, without effect
    await notify(client)
    await eventually(lambda: len(fake.bodies("kf/sync_msg")) == 4)
    await asyncio.sleep(0.3)
    assert fake.bodies("kf/sync_msg")[-1].get("cursor") is None and len(fake.to_customer()) == 2
    _saved, timeline = await ticket(client)
    assert not [e for e in timeline if e.kind == "customer_message"], "the message was not taken twice"
    assert (await ticket(client, 2))[0] is None


async def test_has_more_pages_are_followed_with_the_cursor(kf):
    client, fake = kf
    fake.page_size = 2
    users = [f"wmCustomer{i}" for i in range(5)]
    fake.queue(*[customer_text(f"m{i}", f"问题 {i}", user) for i, user in enumerate(users)])
    await notify(client)
    await eventually(lambda: all(any(OPENED in t for t in fake.to_customer(u)) for u in users))
    assert [b.get("cursor") for b in fake.bodies("kf/sync_msg")] == [None, "c2", "c4"]
    assert [a["has_more"] for a in fake.answers] == [1, 1, 0]
    numbers = sorted(next(t for t in fake.to_customer(u) if OPENED in t).split("工单 ")[1][:8] for u in users)
    assert numbers == [f"T-00000{i}" for i in range(1, 6)], "one ticket per customer, none twice"


async def test_forged_kf_callback_changes_nothing(kf):
    client, fake = kf
    fake.queue(customer_text("m1", "你好"))
    query, body = encrypted(CALLBACK["xml"])
    query["msg_signature"] = "0" * 40
    assert (await client.post("/wecom/callback", params=query, data=body)).status == 403
    await asyncio.sleep(0.3)
    assert fake.calls == [], "not even a sync"
    assert (await ticket(client))[0] is None


@pytest.mark.parametrize("code, permanent", [(95018, True), (95016, True), (45009, False)])
async def test_a_closed_session_is_not_retried(code, permanent, aiohttp_server):
    bodies: list[dict] = []

    async def gettoken(_request: web.Request) -> web.Response:
        return web.json_response({"errcode": 0, "access_token": "T", "expires_in": 7200})

    async def send_msg(request: web.Request) -> web.Response:
        bodies.append(json.loads(await request.text()))
        return web.json_response({"errcode": code, "errmsg": "send msg session status invalid"})

    api = web.Application()
    api.router.add_get("/cgi-bin/gettoken", gettoken)
    api.router.add_post("/cgi-bin/kf/send_msg", send_msg)
    server = await aiohttp_server(api)
    wecom = WeComApi(base_url=str(server.make_url("/cgi-bin/")), corp_id="corp", secret="s")
    try:
        with pytest.raises(WeComApiError) as raised:
            await KfSender(api=wecom).post(Conversation(platform=Platform.WECOM, id=conversation_id(KFID, CUSTOMER)),
                                           text="x" * 3000)
    finally:
        await wecom.close()
    assert raised.value.permanent is permanent
    [payload] = bodies
    assert len(payload["text"]["content"].encode()) <= 2048, "kf text is cut to its limit"


async def test_a_picture_from_the_customer_is_fetched_kept_and_reaches_the_agent(kf):
    client, fake = kf
    fake.queue(customer_text("m-text", "订单页面打不开"))
    await notify(client)
    await eventually(lambda: fake.to_customer())
    fake.host("MEDIA_ID", PNG, "image/png")
    picture = {"msgid": "m-image", "open_kfid": KFID, "external_userid": CUSTOMER, "send_time": 1732068200,
               "origin": 3, "msgtype": "image", "image": {"media_id": "MEDIA_ID"}}
    fake.queue(picture)
    await notify(client, token="ENCnext")
    # The agent working the ticket (its assignee: no WeCom triage group in the sample) gets the picture itself.
    saved, _timeline = await ticket(client)
    member = client.server.app[SERVICES].directory.person(saved.assignee).identity_on(Platform.WECOM)
    sent = await eventually(lambda: [b for b in fake.bodies("message/send")
                                     if b["touser"] == member and b["msgtype"] == "image"])
    assert fake.media[sent[0]["image"]["media_id"]] == ("image", "image.jpg", PNG)
    assert [f["media_id"] for f in fake.fetches] == ["MEDIA_ID"], "fetched by media_id from the API base"
    _saved, timeline = await ticket(client)
    lines = [e.text for e in timeline if e.kind == "customer_message"]
    assert lines == ["📎 image.jpg (70 B)"], "the timeline says what came"
    async with client.server.app[SERVICES].store.unit() as uow:
        [kept] = await uow.attachments.attachments_of(1)
    assert (kept.mime, kept.size, kept.public) == ("image/png", len(PNG), True)
    assert (await ticket(client, 2))[0] is None


async def test_a_location_is_answered_with_what_the_bot_takes(kf):
    client, fake = kf
    fake.queue({"msgid": "m-loc", "open_kfid": KFID, "external_userid": CUSTOMER, "send_time": 1732068200,
                "origin": 3, "msgtype": "location",
                "location": {"latitude": 23.1, "longitude": 113.3, "name": "广州塔", "address": "广州市海珠区"}})
    await notify(client)
    [answer] = await eventually(lambda: fake.to_customer())
    assert "位置" in answer and "文字" in answer
    assert (await ticket(client))[0] is None, "nothing to open a ticket with"

