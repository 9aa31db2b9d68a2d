"""WeCom's side of the wire for the tests: encrypted callbacks as WeCom sends them, and a fake WeCom API."""

from __future__ import annotations

import itertools
import json
import time
from pathlib import Path

from aiohttp import web
from wechatpy.crypto import _get_signature
from wechatpy.enterprise.crypto import PrpCrypto, WeChatCrypto

from bot.app import build_app
from bot.config import Settings, load_config
from tests.harness import EXAMPLE_CONFIG

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "wecom"
SAMPLE = json.loads((FIXTURES / "tencent_sample.json").read_text())


class HostedMedia:
    """media/get as WeCom serves it: the bytes of a temporary media by media_id (with its type and file name), or a
    JSON error for an unknown one; every fetch recorded with the access token it carried."""

    def host(self, media_id: str, data: bytes, mime: str = "image/jpeg", filename: str = "") -> None:
        """Hold `data` as the temporary media `media_id`."""
        self.__dict__.setdefault("hosted", {})[media_id] = (data, mime, filename)

    async def media_get(self, request: web.Request) -> web.Response:
        fetches = self.__dict__.setdefault("fetches", [])
        fetches.append(dict(request.query))
        found = self.__dict__.get("hosted", {}).get(request.query.get("media_id"))
        if found is None or not request.query.get("access_token", "").startswith("TOKEN"):
            return web.json_response({"errcode": 40007, "errmsg": "invalid media_id"})
        data, mime, filename = found
        headers = {"Content-Disposition": f'attachment; filename="{filename}"'} if filename else {}
        return web.Response(body=data, content_type=mime, headers=headers)


class FakeWeCom(HostedMedia):
    """gettoken, message/send and appchat/send; records calls and can answer an error once."""

    def __init__(self):
        self.calls: list[tuple[str, dict, dict]] = []
        self.tokens = itertools.count(1)
        self.errors: list[int] = []
        self.errors_for: dict[tuple[str, str], list[int]] = {}  # (API path, member) → errcodes, once each
        self.media: dict[str, tuple[str, str, bytes]] = {}  # media_id → (type, filename, bytes) of media/upload

    async def gettoken(self, request: web.Request) -> web.Response:
        self.calls.append(("gettoken", dict(request.query), {}))
        return web.json_response({"errcode": 0, "errmsg": "ok", "access_token": f"TOKEN{next(self.tokens)}",
                                  "expires_in": 7200})

    async def api(self, request: web.Request) -> web.Response:
        if request.match_info["path"] == "media/upload":
            return await self.upload(request)
        body = json.loads(await request.text() or "{}")
        self.calls.append((request.match_info["path"], dict(request.query), body))
        if self.errors:
            return web.json_response({"errcode": self.errors.pop(0), "errmsg": "error"})
        members = body.get("userids") or [body.get("touser")]
        for member in members:
            if queued := self.errors_for.get((request.match_info["path"], member)):
                return web.json_response({"errcode": queued.pop(0), "errmsg": "error"})
        answer = {"errcode": 0, "errmsg": "ok", "msgid": f"msg{len(self.calls)}"}
        if body.get("msgtype") == "template_card":
            answer["response_code"] = f"RC{len(self.calls)}"  # single use, 72 h
        return web.json_response(answer)

    async def upload(self, request: web.Request) -> web.Response:
        """media/upload as WeCom takes it: multipart with the file in the field `media`."""
        media = (await request.post())["media"]
        data = media.file.read()
        media_id = f"MEDIA{len(self.media) + 1}"
        self.media[media_id] = (request.query.get("type", ""), media.filename, data)
        self.calls.append(("media/upload", dict(request.query), {"filename": media.filename, "length": len(data)}))
        return web.json_response({"errcode": 0, "errmsg": "ok", "type": request.query.get("type"),
                                  "media_id": media_id, "created_at": "1380000000"})

    def sent(self, to: str) -> list[str]:
        """Texts, and card titles, sent to a member."""
        return [body["text"]["content"] if body["msgtype"] == "text" else body["template_card"]["main_title"]["title"]
                for path, _q, body in self.calls if path == "message/send" and body.get("touser") == to
                and body["msgtype"] in ("text", "template_card")]

    def cards(self, to: str) -> list[dict]:
        """Template cards sent to a member, and the updates of them."""
        return [(path, body) for path, _q, body in self.calls
                if (path == "message/send" and body.get("touser") == to and body["msgtype"] == "template_card")
                or (path == "message/update_template_card" and to in body.get("userids", []))]


async def start_wecom_app(fake, *, database_url, aiohttp_client, aiohttp_server, monkeypatch, routes=(), env=None,
                          clock=None):
    """The real app with WeCom on (Tencent's sample keys), its API pointed at `fake` served on port 0.

    `fake` answers gettoken and every cgi-bin call; `routes` are (path, handler) POST routes served beside them.
    Returns (test client of the app, the fake's server).
    """
    server = await serve_fake_wecom(fake, aiohttp_server, monkeypatch, routes=routes)
    for name, value in {"DATABASE_URL": database_url, **(env or {})}.items():
        monkeypatch.setenv(name, value)
    client = await aiohttp_client(await build_app(Settings(), config=load_config(EXAMPLE_CONFIG), clock=clock))
    return client, server


async def serve_fake_wecom(fake, aiohttp_server, monkeypatch, *, routes=()):
    """Serve `fake` on port 0 and point WeCom's settings (Tencent's sample keys) at it; returns the server."""
    api = web.Application()
    api.router.add_get("/cgi-bin/gettoken", fake.gettoken)
    if isinstance(fake, HostedMedia):
        api.router.add_get("/cgi-bin/media/get", fake.media_get)
    for path, handler in routes:
        api.router.add_post(path, handler)
    api.router.add_post("/cgi-bin/{path:.+}", fake.api)
    server = await aiohttp_server(api)
    settings = {"WECOM_CORP_ID": SAMPLE["corp_id"], "WECOM_AGENT_ID": "218", "WECOM_SECRET": "secret",
                "WECOM_TOKEN": SAMPLE["token"], "WECOM_ENCODING_AES_KEY": SAMPLE["encoding_aes_key"],
                "WECOM_API_BASE_URL": str(server.make_url("/cgi-bin/"))}
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    return server


def encrypted(xml: str, *, age: float = 0) -> tuple[dict, str]:
    """Query and body exactly as WeCom sends an encrypted callback."""
    crypto = WeChatCrypto(SAMPLE["token"], SAMPLE["encoding_aes_key"], SAMPLE["corp_id"])
    encrypt = PrpCrypto(crypto.key).encrypt(xml, SAMPLE["corp_id"]).decode()
    timestamp, nonce = str(int(time.time() - age)), "1372623149"
    query = {"msg_signature": _get_signature(SAMPLE["token"], timestamp, nonce, encrypt), "timestamp": timestamp,
             "nonce": nonce}
    body = (f"<xml><ToUserName><![CDATA[{SAMPLE['corp_id']}]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt>"
            f"<AgentID><![CDATA[218]]></AgentID></xml>")
    return query, body


def text_xml(user: str, content: str, msg_id: int) -> str:
    return (f"<xml><ToUserName><![CDATA[{SAMPLE['corp_id']}]]></ToUserName><FromUserName><![CDATA[{user}]]></FromUserName>"
            f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
            f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId><AgentID>218</AgentID></xml>")




def card_event_xml(user: str, key: str, response_code: str, task_id: str, *, question: str | None = None,
                   option: str | None = None, choices: dict[str, str] | None = None,
                   card_type: str = "button_interaction") -> str:
    """A template_card_event as WeCom sends it after a click: the key pressed and what each drop-down shows."""
    chosen = dict(choices or {})
    if question:
        chosen[question] = option
    items = "".join(f"<SelectedItem><QuestionKey><![CDATA[{q}]]></QuestionKey>"
                    f"<OptionIds><OptionId><![CDATA[{o}]]></OptionId></OptionIds></SelectedItem>" for q, o in chosen.items())
    selected = f"<SelectedItems>{items}</SelectedItems>" if items else ""
    return (f"<xml><ToUserName><![CDATA[{SAMPLE['corp_id']}]]></ToUserName><FromUserName><![CDATA[{user}]]></FromUserName>"
            f"<CreateTime>{int(time.time() * 1000)}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
            f"<Event><![CDATA[template_card_event]]></Event><EventKey><![CDATA[{key}]]></EventKey>"
            f"<TaskId><![CDATA[{task_id}]]></TaskId><CardType><![CDATA[{card_type}]]></CardType>"
            f"<ResponseCode><![CDATA[{response_code}]]></ResponseCode><AgentID>218</AgentID>{selected}</xml>")


# The 智能机器人 (AI bot): its own token and key, JSON callbacks encrypted with receiveid "".
TOKEN, AES_KEY = "aibotToken", "dGlja2V0Ym90LWFpYm90LXRlc3Qta2V5LTMyYnl0ZXM"
CRYPTO = WeChatCrypto(TOKEN, AES_KEY, "")


class AibotFake(FakeWeCom):
    """The WeCom API fake plus the AI bot's response_url endpoint."""

    def __init__(self):
        super().__init__()
        self.responses: list[tuple[str, dict]] = []

    async def response_url(self, request: web.Request) -> web.Response:
        self.responses.append((request.match_info["key"], json.loads(await request.text())))
        return web.json_response({"errcode": 0, "errmsg": "ok"})


def signed(encrypt: str, *, age: float = 0) -> dict:
    timestamp, nonce = str(int(time.time() - age)), "1597212914"
    return {"msg_signature": _get_signature(TOKEN, timestamp, nonce, encrypt), "timestamp": timestamp, "nonce": nonce}


def callback(plain: dict, *, age: float = 0) -> tuple[dict, str]:
    """Query and JSON body exactly as WeCom posts an AI-bot callback (AES with receiveid "", SHA1 signature)."""
    encrypt = PrpCrypto(CRYPTO.key).encrypt(json.dumps(plain, ensure_ascii=False), "").decode()
    return signed(encrypt, age=age), json.dumps({"encrypt": encrypt})


async def reply_of(response) -> dict:
    """Check and decrypt the bot's passive reply as WeCom does."""
    assert response.status == 200
    body = await response.json()
    assert body["msgsignature"] == _get_signature(TOKEN, body["timestamp"], body["nonce"], body["encrypt"])
    return json.loads(PrpCrypto(CRYPTO.key).decrypt(body["encrypt"], ""))


async def post(client, plain: dict) -> dict:
    query, body = callback(plain)
    return await reply_of(await client.post("/wecom/aibot", params=query, data=body))
