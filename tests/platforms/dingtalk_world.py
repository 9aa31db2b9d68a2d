"""DingTalk's side of the wire for the tests: signed robot callbacks as DingTalk posts them, a fake OpenAPI (token,
batchSend, groupMessages, interactive cards, media upload) and fake sessionWebhooks, all recording what came."""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import time
from pathlib import Path

from aiohttp import web

from bot.app import build_app
from bot.config import Settings, load_config
from bot.events import Platform
from tests.harness import EXAMPLE_CONFIG

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "dingtalk"
APP_KEY, SECRET = "dingtestappkey", "test_app_secret"
TRIAGE, ESCALATE = "cidTriageGroup==", "cidEscalations=="
ROBOT = "$:LWCP_v1:$robotUserId"
CORP = "dingcorp0001"


def dingtalk_sign(timestamp: str, secret: str = SECRET) -> str:
    """The `sign` header, computed independently of the bot's code (PLATFORMS.md §3.1)."""
    digest = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def fixture(name: str) -> dict:
    """A captured DingTalk payload from tests/fixtures/dingtalk, by scenario name."""
    return json.loads(FIXTURES.joinpath(f"{name}.json").read_text())


class FakeDingTalk:
    """The OpenAPI and oapi a robot uses, plus sessionWebhooks; records (method, path, body) of every call."""

    def __init__(self):
        self.calls: list[tuple[str, str, dict]] = []
        self.tokens = itertools.count(1)
        self.hooks: list[tuple[str, dict]] = []  # (session key, body) posted to sessionWebhooks
        self.flow_controlled: dict[str, int] = {}  # staffId → how many batchSends still hold them back
        self.errors: list[tuple[int, dict]] = []  # (status, body) answered once each, before anything else
        self.hook_errors: list[dict] = []
        self.media: dict[str, bytes] = {}
        self.hosted: dict[str, tuple[bytes, str]] = {}  # downloadCode → (bytes, type) of files people sent
        self.server = None
        # The Stream gateway: connection requests, open sockets, acks received (by messageId), socket count.
        self.opened: list[dict] = []
        self.sockets: list[web.WebSocketResponse] = []
        self.acks: dict[str, dict] = {}

    def routes(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v1.0/oauth2/accessToken", self.token)
        app.router.add_post("/media/upload", self.upload)
        app.router.add_post("/robot/sendBySession/{key}", self.hook)
        app.router.add_post("/v1.0/gateway/connections/open", self.gateway_open)
        app.router.add_get("/gateway", self.gateway)
        app.router.add_get("/download/{code}", self.download)

        async def close_sockets(_app):  # a server going away closes its sockets (else it waits on them)
            for socket in self.sockets:
                await socket.close()
        app.on_shutdown.append(close_sockets)
        app.router.add_route("*", "/v1.0/{path:.+}", self.api)
        return app

    def webhook(self, key: str) -> str:
        """The sessionWebhook URL DingTalk would put in a message of conversation `key`."""
        return str(self.server.make_url(f"/robot/sendBySession/{key}"))

    async def token(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.calls.append(("POST", "oauth2/accessToken", body))
        if body.get("appSecret") != SECRET:
            return web.json_response({"code": "invalidClientSecret", "message": "wrong secret"}, status=400)
        return web.json_response({"accessToken": f"TOKEN{next(self.tokens)}", "expireIn": 7200})

    async def api(self, request: web.Request) -> web.Response:
        body = json.loads(await request.text() or "{}")
        path, token = request.match_info["path"], request.headers.get("x-acs-dingtalk-access-token", "")
        status, answer = self._answer(path, body, token)
        # Refused calls are recorded too (their "_status" says so); what people see counts only the accepted.
        self.calls.append((request.method, path, {**body, "_token": token, "_status": status,
                                                  "_held": answer.get("flowControlledStaffIdList", [])}))
        return web.json_response(answer, status=status)

    def _answer(self, path: str, body: dict, token: str) -> tuple[int, dict]:
        if self.errors:
            return self.errors.pop(0)
        if not token.startswith("TOKEN"):
            return 401, {"code": "InvalidAuthentication", "message": "no token"}
        if path == "robot/oToMessages/batchSend":
            held = [u for u in body["userIds"] if self.flow_controlled.get(u, 0) > 0]
            for user in held:
                self.flow_controlled[user] -= 1
            return 200, {"processQueryKey": f"pqk{len(self.calls)}", "invalidStaffIdList": [],
                         "flowControlledStaffIdList": held}
        if path == "robot/messageFiles/download":
            if body.get("downloadCode") not in self.hosted or body.get("robotCode") != APP_KEY:
                return 400, {"code": "invalidParameter.downloadCode", "message": "unknown download code"}
            return 200, {"downloadUrl": str(self.server.make_url(f"/download/{body['downloadCode']}"))}
        return 200, {"processQueryKey": f"pqk{len(self.calls)}", "result": True}

    def host(self, code: str, data: bytes, mime: str = "image/png") -> None:
        """A file a person sent, downloadable by `code` (as DingTalk keeps a message's pictures)."""
        self.hosted[code] = (data, mime)

    async def download(self, request: web.Request) -> web.Response:
        data, mime = self.hosted[request.match_info["code"]]
        return web.Response(body=data, content_type=mime)

    def pictures_in(self, group: str | None = None, user: str | None = None) -> list[bytes]:
        """The pictures the robot showed in a group or a member's 1:1 chat (uploaded, then sampleImageMsg)."""
        return [self.media[json.loads(b["msgParam"])["photoURL"]] for m, p, b in self.accepted()
                if b.get("msgKey") == "sampleImageMsg" and (
                    (group and b.get("openConversationId") == group) or (user and user in b.get("userIds", [])))]

    async def hook(self, request: web.Request) -> web.Response:
        body = await request.json()
        if self.hook_errors:
            return web.json_response(self.hook_errors.pop(0))
        self.hooks.append((request.match_info["key"], body))
        return web.json_response({"errcode": 0, "errmsg": "ok"})

    async def upload(self, request: web.Request) -> web.Response:
        media = (await request.post())["media"]
        data = media.file.read()
        media_id = f"@lADPmedia{len(self.media) + 1}"
        self.media[media_id] = data
        self.calls.append(("POST", "media/upload", {"type": request.query.get("type"), "length": len(data),
                                                    "access_token": request.query.get("access_token")}))
        return web.json_response({"errcode": 0, "errmsg": "ok", "type": "image", "media_id": media_id})

    async def gateway_open(self, request: web.Request) -> web.Response:
        """The Stream gateway's connection request: credentials and topics in, a socket endpoint and ticket out."""
        body = await request.json()
        self.opened.append(body)
        if body.get("clientSecret") != SECRET:
            return web.json_response({"code": "invalidClientSecret", "message": "wrong secret"}, status=400)
        return web.json_response({"endpoint": str(self.server.make_url("/gateway")).replace("http", "ws", 1),
                                  "ticket": f"tick+et/{len(self.opened)}="})

    async def gateway(self, request: web.Request) -> web.WebSocketResponse:
        """The socket: frames are pushed by the test (push), acks come back and are kept by messageId."""
        if request.query.get("ticket") != f"tick+et/{len(self.opened)}=":
            raise web.HTTPForbidden()
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        self.sockets.append(socket)
        async for message in socket:
            ack = json.loads(message.data)
            self.acks[ack["headers"]["messageId"]] = ack
        return socket

    async def push(self, kind: str, topic: str, data: dict, message_id: str) -> None:
        """Send one frame over the newest socket, as DingTalk's gateway does (`data` is a JSON string)."""
        frame = {"specVersion": "1.0", "type": kind, "data": json.dumps(data, ensure_ascii=False),
                 "headers": {"appId": "app1", "connectionId": f"conn{len(self.sockets)}", "messageId": message_id,
                             "contentType": "application/json", "time": str(int(time.time() * 1000)),
                             "topic": topic}}
        await self.sockets[-1].send_str(json.dumps(frame, ensure_ascii=False))

    def accepted(self) -> list[tuple[str, str, dict]]:
        """The calls DingTalk accepted (a 2xx)."""
        return [(m, p, b) for m, p, b in self.calls if b.get("_status", 200) < 300]

    # What people see.
    def texts_to_user(self, staff: str) -> list[str]:
        """Texts sent to a member's 1:1 chat through the OpenAPI."""
        return [json.loads(b["msgParam"])["content"] for m, p, b in self.accepted()
                if p == "robot/oToMessages/batchSend" and staff in b["userIds"] and b["msgKey"] == "sampleText"
                and staff not in b["_held"]]

    def texts_to_group(self, group: str) -> list[str]:
        return [json.loads(b["msgParam"])["content"] for m, p, b in self.accepted()
                if p == "robot/groupMessages/send" and b["openConversationId"] == group and b["msgKey"] == "sampleText"]

    def hook_texts(self, key: str) -> list[str]:
        return [b["text"]["content"] if b["msgtype"] == "text" else b[b["msgtype"]].get("text", "")
                for k, b in self.hooks if k == key]

    def cards(self) -> list[dict]:
        """Cards sent, each with its latest data (after PUT updates), in order of sending."""
        sent = {}
        for method, path, body in self.accepted():
            if path == "im/v1.0/robot/interactiveCards/send":
                sent[body["cardBizId"]] = {**body, "data": json.loads(body["cardData"]), "updates": 0}
            elif method == "PUT" and path == "im/robots/interactiveCards" and body["cardBizId"] in sent:
                card = sent[body["cardBizId"]]
                card.update(data=json.loads(body["cardData"]), updates=card["updates"] + 1)
        return list(sent.values())

    def cards_in(self, group: str) -> list[dict]:
        return [c for c in self.cards() if c.get("openConversationId") == group]

    def cards_to(self, staff: str) -> list[dict]:
        return [c for c in self.cards() if json.loads(c.get("singleChatReceiver") or "{}").get("userId") == staff]


def card_text(card: dict) -> str:
    """A card as a person reads it: title, state, and the ids of its controls (what a press sends back)."""
    data = card["data"]
    lines = [data["header"]["title"]["text"]]
    for part in data["contents"]:
        if part["type"] == "markdown":
            lines.append(part["text"])
        elif part["type"] == "action":
            lines += [f"[{a['label']['text']}] {a['id']}" for a in part["actions"]]
    return "\n".join(lines)


def control_id(card: dict, verb: str, value: str | None = None) -> str:
    """The id of the card's control for `verb` (and option `value`)."""
    for part in card["data"]["contents"]:
        for action in part.get("actions", []):
            ident = action["id"]
            if ident.split(":")[2] == verb and (value is None or ident.endswith(f"={value}")):
                return ident
    raise AssertionError(f"no {verb} {value or ''} on the card: {card_text(card)}")


class DingTalkWorld:
    """Our app with DingTalk on, the fake behind it, and DingTalk's side of the conversation."""

    def __init__(self, client, fake: FakeDingTalk):
        self.client, self.fake = client, fake
        self.n = 0

    async def post(self, body: dict, *, age_ms: int = 0, secret: str = SECRET, timestamp: str | None = None):
        """POST a body to /dingtalk/callback signed as DingTalk signs it (`age_ms` in the past)."""
        timestamp = timestamp or str(int(time.time() * 1000) - age_ms)
        headers = {"Content-Type": "application/json; charset=utf-8", "timestamp": timestamp,
                   "sign": dingtalk_sign(timestamp, secret)}
        return await self.client.post("/dingtalk/callback", data=json.dumps(body, ensure_ascii=False).encode(),
                                      headers=headers)

    def message(self, sender: str | None, text: str, *, group: str | None = None, nick: str = "",
                sender_id: str | None = None, at_users: list[dict] | None = None, external: bool = False,
                webhook_ms: int = 90 * 60_000, msg_id: str | None = None) -> dict:
        """A robot message as DingTalk posts it: 1:1 (no group) or in `group` (the robot @-mentioned)."""
        self.n += 1
        now = int(time.time() * 1000)
        conversation = group or f"cidSingle{sender or sender_id}"
        body = {"conversationId": conversation, "chatbotCorpId": CORP, "chatbotUserId": ROBOT,
                "msgId": msg_id or f"msgTEST{self.n:06d}", "senderNick": nick or sender or "客户",
                "isAdmin": False, "sessionWebhookExpiredTime": now + webhook_ms, "createAt": now,
                "senderCorpId": "dingothercorp" if external else CORP, "conversationType": "2" if group else "1",
                "senderId": sender_id or f"$:LWCP_v1:${sender}", "robotCode": APP_KEY,
                "sessionWebhook": self.fake.webhook(group or sender or sender_id),
                "text": {"content": text}, "msgtype": "text"}
        if sender:
            body["senderStaffId"] = sender
        if group:
            body.update(conversationTitle="工单测试群", isInAtList=True,
                        atUsers=[{"dingtalkId": ROBOT}, *(at_users or [])])
        return body

    async def say(self, sender: str | None, text: str, **kwargs):
        return await self.post(self.message(sender, text, **kwargs))

    def card_callback(self, user: str, card: dict, control: str) -> dict:
        """A card callback as DingTalk sends it after a press (the same JSON in HTTP and Stream mode)."""
        space = ({"spaceType": "IM_GROUP", "spaceId": card["openConversationId"]} if card.get("openConversationId")
                 else {"spaceType": "IM_ROBOT", "spaceId": user})
        return {"extension": "{}", "corpId": CORP, "type": "actionCallback", "userId": user, "userIdType": 1,
                "content": json.dumps({"cardPrivateData": {"actionIds": [control], "params": {}}}),
                "outTrackId": card["cardBizId"], **space}

    async def press(self, user: str, card: dict, verb: str, value: str | None = None):
        return await self.post(self.card_callback(user, card, control_id(card, verb, value)))


async def start_dingtalk(*, database_url, aiohttp_client, aiohttp_server, monkeypatch, fake=None, config=None,
                         clock=None, env=None) -> DingTalkWorld:
    """The real app with DingTalk on (HTTP callback mode), its APIs pointed at a fake served on port 0; the
    sample config with a DingTalk triage group."""
    fake = fake or FakeDingTalk()
    fake.server = await aiohttp_server(fake.routes())
    base = str(fake.server.make_url("")).rstrip("/")
    settings = {"DATABASE_URL": database_url, "DINGTALK_APP_KEY": APP_KEY, "DINGTALK_APP_SECRET": SECRET,
                "DINGTALK_API_BASE_URL": base, "DINGTALK_OAPI_BASE_URL": base, **(env or {})}
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    config = config or load_config(EXAMPLE_CONFIG)
    config.triage_channels[Platform.DINGTALK] = TRIAGE
    config.sla.escalation_channels[Platform.DINGTALK] = ESCALATE
    client = await aiohttp_client(await build_app(Settings(), config=config, clock=clock))
    return DingTalkWorld(client, fake)


