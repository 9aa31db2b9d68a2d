"""WeCom (企业微信) self-built app: encrypted callback (wechatpy crypto + parsing) and an async REST messenger."""

from __future__ import annotations

import asyncio
import logging
import time

import aiohttp
from aiohttp import web
from wechatpy.enterprise import parse_message
from wechatpy.enterprise.crypto import WeChatCrypto
from wechatpy.enterprise.exceptions import InvalidCorpIdException
from wechatpy.exceptions import InvalidSignatureException

from bot.events import Actor, ButtonPressed, Conversation, ConversationKind, MessagePosted, Platform
from bot.ports import SendError
from cards.wecom import render_template_card, render_text

log = logging.getLogger(__name__)
TOKEN_ERRORS = {40001, 40014, 42001}  # invalid / expired access token: fetch a new one and try again
PERMANENT_ERRORS = {60111, 81013, 301002}  # unknown user, no valid receiver, no permission
SPENT_CODE_ERRORS = {40187, 40188}  # response_code invalid / expired or already used (doc 94888)


def _query(request: web.Request, name: str) -> str:
    # aiohttp decodes '+' as a space; WeCom's base64 values contain '+' when a client forgot to encode it.
    return request.query.get(name, "").replace(" ", "+")


def to_event(data: dict) -> MessagePosted | ButtonPressed | None:
    """A decrypted callback (as a dict) → neutral event; None for what the bot does not act on."""
    user = data.get("FromUserName", "")
    kind = (data.get("MsgType") or "").lower()
    dm = Conversation(platform=Platform.WECOM, id=user, kind=ConversationKind.DM)
    actor = Actor(platform=Platform.WECOM, user_id=user)
    if kind == "text":
        return MessagePosted(delivery_id=f"msg:{data.get('MsgId')}", actor=actor, conversation=dm,
                             text=data.get("Content", ""))
    if kind == "event" and (data.get("Event") or "").lower() == "template_card_event":
        # Events carry no MsgId: sender + create time + key identify a redelivery.
        key = data.get("EventKey", "")
        value = None
        selected = (data.get("SelectedItems") or {}).get("SelectedItem")
        if selected:
            item = selected[0] if isinstance(selected, list) else selected
            option = (item.get("OptionIds") or {}).get("OptionId")
            value = option[0] if isinstance(option, list) else option
            key = item.get("QuestionKey", key)
        return ButtonPressed(delivery_id=f"evt:{user}:{data.get('CreateTime')}:{key}", actor=actor, conversation=dm,
                             action=key, value=value, message_ref=data.get("ResponseCode") or data.get("TaskId"))
    return None


class WeComCallback:
    """GET/POST /wecom/callback: verify, decrypt, record the delivery, answer at once, then work."""

    def __init__(self, *, settings, router):
        self.crypto = WeChatCrypto(settings.wecom_token, settings.wecom_encoding_aes_key, settings.wecom_corp_id)
        self.router = router
        self._tasks: set[asyncio.Task] = set()

    async def verify(self, request: web.Request) -> web.Response:
        """URL verification: answer the decrypted echostr, exactly."""
        try:
            plain = self.crypto.check_signature(_query(request, "msg_signature"), _query(request, "timestamp"),
                                                _query(request, "nonce"), _query(request, "echostr"))
        except (InvalidSignatureException, InvalidCorpIdException, ValueError):
            return web.Response(status=403, text="invalid signature")
        return web.Response(text=plain.decode() if isinstance(plain, bytes) else plain)

    async def receive(self, request: web.Request) -> web.Response:
        """An encrypted message or event; a forged one is refused and changes nothing."""
        body = await request.text()
        try:
            xml = self.crypto.decrypt_message(body, _query(request, "msg_signature"), _query(request, "timestamp"),
                                              _query(request, "nonce"))
        except (InvalidSignatureException, InvalidCorpIdException, ValueError, KeyError):
            return web.Response(status=403, text="invalid signature")
        event = to_event(parse_message(xml)._data)
        if event is not None and await self.router.accept(event):
            # WeCom retries after 5 s without an answer: answer now, work in the background.
            task = asyncio.create_task(self.router.process(event))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return web.Response(text="")

    def mount(self, app: web.Application) -> None:
        """Add the callback routes."""
        app.router.add_get("/wecom/callback", self.verify)
        app.router.add_post("/wecom/callback", self.receive)


class WeComMessenger:
    """message/send through WeCom's REST API with aiohttp (wechatpy's client is synchronous)."""

    platform = Platform.WECOM

    def __init__(self, *, settings, session: aiohttp.ClientSession | None = None):
        self.base_url = settings.wecom_api_base_url.rstrip("/") + "/"
        self.corp_id, self.secret = settings.wecom_corp_id, settings.wecom_secret
        self.agent_id = int(settings.wecom_agent_id)
        self._session = session
        self._token: tuple[str, float] | None = None

    async def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        return self._session

    async def access_token(self, *, refresh: bool = False) -> str:
        """The cached access token (fetched again when expired, or when WeCom said it is invalid)."""
        if refresh or self._token is None or self._token[1] <= time.monotonic():
            session = await self._http()
            async with session.get(self.base_url + "gettoken",
                                   params={"corpid": self.corp_id, "corpsecret": self.secret}) as response:
                data = await response.json(content_type=None)
            if data.get("errcode"):
                raise SendError(f"wecom gettoken {data.get('errcode')}: {data.get('errmsg')}")
            # Renew five minutes early rather than fail one call at the edge of expiry.
            self._token = (data["access_token"], time.monotonic() + int(data.get("expires_in", 7200)) - 300)
        return self._token[0]

    async def call(self, path: str, payload: dict) -> dict:
        """POST a JSON API call; one retry with a fresh token on a token error."""
        for attempt in range(2):
            token = await self.access_token(refresh=attempt > 0)
            session = await self._http()
            async with session.post(self.base_url + path, params={"access_token": token}, json=payload) as response:
                data = await response.json(content_type=None)
            code = data.get("errcode", 0)
            if code in TOKEN_ERRORS and attempt == 0:
                continue
            if code == 45009:
                raise SendError("wecom api frequency limit", retry_after=60)
            if code:
                raise SendError(f"wecom {path} {code}: {data.get('errmsg')}", permanent=code in PERMANENT_ERRORS)
            return data
        raise SendError(f"wecom {path}: access token rejected twice")

    async def post(self, target: Conversation, *, text=None, card=None, ephemeral_user=None) -> str | None:
        """Text or a template card to a member; text (cards as text) to an app group chat.

        A card's reference is 'msgid|response_code|member': the code (single use, 72 h) updates it in place.
        """
        if target.kind is not ConversationKind.DM:
            content = text if card is None else render_text(card)
            await self.call("appchat/send", {"chatid": target.id, "msgtype": "text", "text": {"content": content}})
            return None
        member = ephemeral_user or target.id
        if card is None:
            data = await self.call("message/send", {"touser": member, "msgtype": "text", "agentid": self.agent_id,
                                                    "text": {"content": text or ""}})
            return data.get("msgid")
        data = await self.call("message/send", {"touser": member, "msgtype": "template_card", "agentid": self.agent_id,
                                                "template_card": render_template_card(card)})
        return f"{data.get('msgid', '')}|{data.get('response_code', '')}|{member}"

    async def update(self, target: Conversation, message_ref: str, card) -> str | None:
        """update_template_card with the card's unused response code; once spent or expired, send a fresh card."""
        msgid, _, rest = message_ref.partition("|")
        code, _, member = rest.partition("|")
        if target.kind is not ConversationKind.DM or not code:
            return await self.post(target, card=card)
        try:
            await self.call("message/update_template_card", {
                "userids": [member or target.id], "agentid": self.agent_id, "response_code": code,
                "template_card": render_template_card(card)})
        except SendError as exc:
            if not any(str(c) in str(exc) for c in SPENT_CODE_ERRORS):
                raise
            return await self.post(target, card=card)
        return f"{msgid}||{member}"  # the code is used up; the next change sends a fresh card

    async def close(self) -> None:
        """Close the HTTP session."""
        if self._session is not None:
            await self._session.close()


