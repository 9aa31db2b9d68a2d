"""WeCom 智能机器人 (AI bot) in callback mode: @-commands in group chats → neutral events, answers back there.

WeCom pushes no group-chat messages to self-built apps; an AI bot in callback mode gets every message that
@-mentions it (docs 100719). Its callbacks are encrypted JSON with receiveid "" (doc 101033).

How answers get back (docs 101031 passive reply, 101138 response_url). The core answers asynchronously (outbox
rows → dispatcher → messenger), long after the 5 s WeCom waits for the HTTP answer, so:
1. The callback answers at once with a passive `stream` reply (finish=false). WeCom then polls us with `stream`
   refresh callbacks for up to 6 minutes from the user's message, until we say finish=true (doc 100719 流式消息刷新).
   Whatever the outbox sends to that chat meanwhile is collected into the stream, so a turn that produces
   several messages (an answer and a card) shows them all, in one reply to the message that asked.
2. After the stream closed (e.g. an agent's `reply` to a customer who opened a ticket in the group), a message
   goes to the newest unused response_url of that chat: POST markdown, once per url, within 1 h (doc 101138).
3. Nothing left (url used or expired): a permanent SendError says so — the AI bot has no other way to speak
   in a group; the next @-mention brings a fresh url.
Stream and url state live in this process's memory, so this assumes one replica takes both the AI bot's
callbacks and the outbox; with several, output sent by another replica misses the stream (not shared yet).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import aiohttp
from aiohttp import web
from wechatpy.crypto import _get_signature
from wechatpy.enterprise.crypto import PrpCrypto, WeChatCrypto
from wechatpy.enterprise.exceptions import InvalidCorpIdException
from wechatpy.exceptions import InvalidSignatureException

from bot.events import Actor, Conversation, ConversationKind, MessagePosted, Platform
from bot.platforms.wecom import answer_url_verification, query_value
from bot.ports import SendError
from cards.wecom import render_text

log = logging.getLogger(__name__)

PREFIX = "aibot:"
STREAM_WINDOW = 330.0  # WeCom stops polling 6 min after the user's message: close the stream ourselves first
QUIET = 0.5  # once the turn is handled, this long without new output ends the stream
# …and with no output this long after it (the turn said nothing here, or the dispatcher is busy) the stream
# ends anyway: appending to an open stream cannot fail, so only a late dispatcher round is waited for, and
# what comes after goes through the response_url rather than leave the person looking at "…".
GRACE = 3.0
URL_LIFETIME = 3600.0 - 60.0  # response_url is valid for 1 h; keep a margin for clocks and the request itself
MAX_BYTES = 20480  # stream content and markdown content limit (docs 101031/101138)
PENDING, DONE = "…", "✓"  # what a stream shows before the answer, and when a turn had nothing to say here
_LEADING_MENTION = re.compile(r"^\s*@\S+\s*")  # "@ticketbot\u2005工单 …": \s covers WeCom's U+2005 too


def strip_mention(content: str) -> str:
    """The message text without the leading @mention of the bot."""
    return _LEADING_MENTION.sub("", content or "", count=1).strip()


def conversation_of(data: dict) -> Conversation:
    """The chat a callback came from: 'aibot:<chatid>' (a single chat has no chatid: the user's id)."""
    group = data.get("chattype") == "group"
    chat = data.get("chatid") or (data.get("from") or {}).get("userid", "")
    return Conversation(platform=Platform.WECOM, id=f"{PREFIX}{chat}",
                        kind=ConversationKind.GROUP if group else ConversationKind.DM)


def message_text(data: dict) -> str | None:
    """The text of a text or mixed (text + images) message; None for other message types."""
    kind = data.get("msgtype")
    if kind == "text":
        return (data.get("text") or {}).get("content", "")
    if kind == "mixed":
        items = (data.get("mixed") or {}).get("msg_item") or []
        return " ".join((i.get("text") or {}).get("content", "") for i in items if i.get("msgtype") == "text")
    return None


def to_event(data: dict) -> MessagePosted | None:
    """A decrypted AI-bot message → MessagePosted addressed to the bot; None for what we do not act on."""
    text = message_text(data)
    user = (data.get("from") or {}).get("userid")
    if text is None or not user or not data.get("msgid"):
        return None
    # The AI bot only hears messages that @-mention it (or a single chat with it): always addressed, like
    # Slack's app_mention, so the router runs commands and treats customers' words as their request.
    return MessagePosted(delivery_id=f"aibot:{data['msgid']}", actor=Actor(platform=Platform.WECOM, user_id=user),
                         conversation=conversation_of(data), text=strip_mention(text), addressed=True)


def _limit(text: str) -> str:
    data = text.encode()
    if len(data) <= MAX_BYTES:
        return text
    return data[: MAX_BYTES - 3].decode(errors="ignore") + "…"


@dataclass
class Stream:
    """One passive stream reply: the output of a turn, collected until it is complete."""

    id: str
    chat: str
    started: float
    changed: float
    parts: list[str] = field(default_factory=list)
    handled: bool = False  # router.process has finished (its outbox rows are committed)
    finished: bool = False


class AibotSender:
    """The messenger's route for 'aibot:' conversations: into the open stream, else the chat's response_url."""

    def __init__(self, *, http: Callable[[], Awaitable[aiohttp.ClientSession]],
                 monotonic: Callable[[], float] = time.monotonic):
        self.http, self.monotonic = http, monotonic
        self.streams: dict[str, Stream] = {}
        self.urls: dict[str, tuple[str, float]] = {}  # chat → (newest unused response_url, expiry)

    def open(self, chat: str, stream_id: str) -> Stream:
        """The stream answering one user message (the same one again on a redelivery)."""
        now = self.monotonic()
        for key in [k for k, s in self.streams.items() if now - s.started > 2 * STREAM_WINDOW]:
            del self.streams[key]  # WeCom polls no longer; keep memory bounded
        if stream_id not in self.streams:
            self.streams[stream_id] = Stream(stream_id, chat, now, now)
        return self.streams[stream_id]

    def handled(self, stream: Stream) -> None:
        """The turn is processed: the stream may close once its output has been sent."""
        stream.handled, stream.changed = True, self.monotonic()

    def remember_url(self, chat: str, url: str) -> None:
        """Keep the newest response_url per chat: older ones of the chat are never needed once it is there."""
        if url:
            self.urls[chat] = (url, self.monotonic() + URL_LIFETIME)

    def poll(self, stream_id: str) -> dict:
        """The plaintext reply to a stream (re)fresh: everything collected so far, finished when complete."""
        stream = self.streams.get(stream_id)
        if stream is None:  # unknown here (restart): end it; later output goes through the url
            return {"msgtype": "stream", "stream": {"id": stream_id, "finish": True, "content": DONE}}
        now = self.monotonic()
        quiet = now - stream.changed
        if not stream.finished and (now - stream.started >= STREAM_WINDOW
                                    or (stream.handled and ((stream.parts and quiet >= QUIET) or quiet >= GRACE))):
            stream.finished = True
        content = "\n\n".join(stream.parts) or (DONE if stream.finished else PENDING)
        return {"msgtype": "stream", "stream": {"id": stream.id, "finish": stream.finished, "content": _limit(content)}}

    def _open_stream(self, chat: str) -> Stream | None:
        # Several turns may be open in one chat; output goes to the oldest, as the outbox sends a chat in order.
        now = self.monotonic()
        open_ = [s for s in self.streams.values()
                 if s.chat == chat and not s.finished and now - s.started < STREAM_WINDOW]
        return min(open_, key=lambda s: s.started) if open_ else None

    async def post(self, target: Conversation, *, text=None, card=None, ephemeral_user=None) -> str | None:
        """Into the chat's open stream, else once through its response_url; a permanent SendError otherwise."""
        # The AI bot cannot show a message to one member only: "private" answers are seen by the whole chat.
        content = text if card is None else render_text(card)
        if (stream := self._open_stream(target.id)) is not None:
            stream.parts.append(content or "")
            stream.changed = self.monotonic()
            return None  # neither a stream part nor a response_url message can be edited later
        await self._post_url(target.id, content or "")
        return None

    async def update(self, target: Conversation, message_ref: str | None, card) -> str | None:
        """A changed card: a fresh copy while a turn in that chat is answering, else left as it is."""
        if self._open_stream(target.id) is not None:
            return await self.post(target, card=card)
        # Spending the chat's one response_url on a card refresh would leave none for a real answer (an
        # agent's reply to a customer who wrote in this group), and the copy there merely goes stale.
        log.info("wecom aibot: card in %s not refreshed (no open stream)", target.id)
        return None

    async def _post_url(self, chat: str, content: str) -> None:
        url, expires = self.urls.pop(chat, ("", 0.0))  # single use: gone whatever the answer
        if not url or expires <= self.monotonic():
            raise SendError(f"wecom aibot: no unused response_url for {chat} (each is good for one message "
                            "within 1 h; the next @-mention of the bot brings a new one)", permanent=True)
        session = await self.http()
        async with session.post(url, json={"msgtype": "markdown", "markdown": {"content": _limit(content)}}) as response:
            data = await response.json(content_type=None)
        if data.get("errcode"):
            raise SendError(f"wecom aibot response_url {data['errcode']}: {data.get('errmsg', '')}", permanent=True)


class AibotCallback:
    """GET/POST /wecom/aibot: verify, decrypt, record the delivery, answer with a stream, then work."""

    def __init__(self, *, token: str, encoding_aes_key: str, router, sender: AibotSender):
        self.token = token
        self.crypto = WeChatCrypto(token, encoding_aes_key, "")  # the AI bot's receiveid is the empty string
        self.router, self.sender = router, sender
        self._tasks: set[asyncio.Task] = set()

    async def verify(self, request: web.Request) -> web.Response:
        """URL verification: answer the decrypted echostr, exactly (receiveid '' for the AI bot)."""
        return answer_url_verification(self.crypto, request)

    def _decrypt(self, encrypt: str, signature: str, timestamp: str, nonce: str) -> dict:
        expected = _get_signature(self.token, timestamp, nonce, encrypt)
        if not hmac.compare_digest(expected, signature):
            raise InvalidSignatureException()
        return json.loads(PrpCrypto(self.crypto.key).decrypt(encrypt, ""))

    def _reply(self, plain: dict, nonce: str) -> web.Response:
        """An encrypted, signed passive reply (doc 101033)."""
        encrypt = PrpCrypto(self.crypto.key).encrypt(json.dumps(plain, ensure_ascii=False), "").decode()
        timestamp = str(int(time.time()))
        return web.json_response({"encrypt": encrypt, "msgsignature": _get_signature(self.token, timestamp, nonce, encrypt),
                                  "timestamp": timestamp, "nonce": nonce})

    async def receive(self, request: web.Request) -> web.Response:
        """A message or a stream refresh; a forged one is refused and changes nothing."""
        nonce = query_value(request, "nonce")
        try:
            body = json.loads(await request.text())
            data = self._decrypt(body["encrypt"], query_value(request, "msg_signature"), query_value(request, "timestamp"), nonce)
        except (InvalidSignatureException, InvalidCorpIdException, ValueError, KeyError, TypeError):
            return web.Response(status=403, text="invalid signature")
        if data.get("msgtype") == "stream":
            return self._reply(self.sender.poll((data.get("stream") or {}).get("id", "")), nonce)
        event = to_event(data)
        if event is None:
            return web.Response(text="")  # events (enter_chat…) and other message types: no answer
        chat = event.conversation.id
        self.sender.remember_url(chat, data.get("response_url", ""))
        # Derived from msgid: WeCom's retries of this message get the same stream, not a second answer.
        stream_id = "tb-" + hashlib.sha1(data["msgid"].encode()).hexdigest()[:20]
        known = stream_id in self.sender.streams
        stream = self.sender.open(chat, stream_id)
        if await self.router.accept(event):
            task = asyncio.ensure_future(self._process(event, stream))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        elif not known:
            self.sender.handled(stream)  # handled before, elsewhere (another replica, or before a restart)
        return self._reply(self.sender.poll(stream.id), nonce)

    async def _process(self, event: MessagePosted, stream: Stream) -> None:
        try:
            await self.router.process(event)
        finally:
            self.sender.handled(stream)

    def mount(self, app: web.Application) -> None:
        """Add the callback routes."""
        app.router.add_get("/wecom/aibot", self.verify)
        app.router.add_post("/wecom/aibot", self.receive)


def setup_aibot(app: web.Application, *, settings, router, messenger) -> AibotCallback | None:
    """Mount /wecom/aibot and route 'aibot:' conversations through the messenger, when the AI bot is configured."""
    if not settings.wecom_aibot_enabled:
        return None
    # The app messenger's HTTP session: one pool, closed with the messenger.
    sender = AibotSender(http=messenger.api.http)
    messenger.route(PREFIX, sender)
    callback = AibotCallback(token=settings.wecom_aibot_token, encoding_aes_key=settings.wecom_aibot_encoding_aes_key,
                             router=router, sender=sender)
    callback.mount(app)
    return callback
