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
Streams and urls are kept in the store's shared state (one record per chat, changed atomically), so with several
replicas any of them may take WeCom's callbacks and any dispatcher may send.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import aiohttp
from aiohttp import web
from wechatpy.crypto import _get_signature
from wechatpy.enterprise.crypto import PrpCrypto, WeChatCrypto

from bot.config import WeComAibotSettings
from bot.events import Actor, Conversation, ConversationKind, MessagePosted, Platform
from bot.platforms import Malformed, SharedState
from bot.platforms.wecom import answer_url_verification
from bot.platforms.wecom_envelope import Forged, check_signed, decrypt, query_value
from bot.ports import Clock, SendError
from bot.ports.inbound import Inbox
from cards.wecom import fit_bytes, render_text

log = logging.getLogger(__name__)

PREFIX = "aibot:"
STREAM_WINDOW = 330.0  # WeCom stops polling 6 min after the user's message: close the stream ourselves first
QUIET = 0.5  # once the turn is handled, this long without new output ends the stream
# …and with no output this long after it (the turn said nothing here, or the dispatcher is busy) the stream
# ends anyway: appending to an open stream cannot fail, so only a late dispatcher round is waited for, and
# what comes after goes through the response_url rather than leave the person looking at "…".
GRACE = 3.0
URL_LIFETIME = 3600.0 - 60.0  # response_url is valid for 1 h; keep a margin for clocks and the request itself
# Stream content and response_url markdown content are at most 20,480 bytes of UTF-8 (docs 101031/101138). A turn's
# answer is one stream (or one url message): a longer one cannot be split into several, so it is trimmed with '…'.
MAX_BYTES = 20480
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


# The fields the bot reads, and the one type each must have (WeCom's documented callback shape).
_SHAPE = {"msgid": str, "msgtype": str, "chattype": str, "chatid": str, "response_url": str, "aibotid": str,
          "from": dict, "text": dict, "stream": dict, "mixed": dict}
_INNER = {("from", "userid"): str, ("text", "content"): str, ("stream", "id"): str, ("mixed", "msg_item"): list}


def checked(data: object) -> dict:
    """A decrypted callback whose fields have the types WeCom sends; Malformed otherwise."""
    if not isinstance(data, dict):
        raise Malformed(f"a JSON {type(data).__name__}, not an object")
    for name, kind in _SHAPE.items():
        if name in data and not isinstance(data[name], kind):
            raise Malformed(f"{name} is a {type(data[name]).__name__}, not a {kind.__name__}")
    for (outer, name), kind in _INNER.items():
        if name in data.get(outer, {}) and not isinstance(data[outer][name], kind):
            raise Malformed(f"{outer}.{name} is not a {kind.__name__}")
    items = (data.get("mixed") or {}).get("msg_item") or []
    if not all(isinstance(i, dict) and isinstance(i.get("text") or {}, dict) for i in items):
        raise Malformed("mixed.msg_item holds something else than items")
    return data


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


def _stream_key(stream_id: str) -> str:
    return f"wecom-aibot:stream:{stream_id}"


def _chat_key(chat: str) -> str:
    return f"wecom-aibot:chat:{chat}"


class AibotSender:
    """The messenger's route for 'aibot:' conversations: into the open stream, else the chat's response_url.

    Streams and urls live in the store's shared state, one record per chat, so whichever replica receives
    WeCom's callbacks and whichever replica's dispatcher sends see the same: {"url": …, "url_expires": …,
    "streams": [{"id", "started", "changed", "parts", "handled", "finished"}, …]} (times in epoch seconds).
    """

    def __init__(self, *, state: SharedState, http: Callable[[], Awaitable[aiohttp.ClientSession]],
                 clock: Callable[[], float] = time.time):
        self.state, self.http, self.clock = state, http, clock

    async def _change(self, key: str, change, keep_for: float = 2 * URL_LIFETIME):
        now = self.clock()
        return await self.state.change_state(key, change, now=datetime.fromtimestamp(now, UTC),
                                             expires_at=datetime.fromtimestamp(now + keep_for, UTC))

    async def begin(self, chat: str, stream_id: str, response_url: str) -> bool:
        """A user's message: keep its response_url and open its stream; True when the stream was open already."""
        now = self.clock()
        await self._change(_stream_key(stream_id), lambda _old: ({"chat": chat}, None))

        def change(record: dict):
            # Keep only streams WeCom may still poll: memory and the record stay bounded.
            streams = [s for s in record.get("streams", []) if now - s["started"] < 2 * STREAM_WINDOW]
            known = any(s["id"] == stream_id for s in streams)
            if not known:
                streams.append({"id": stream_id, "started": now, "changed": now, "parts": [], "handled": False,
                                "finished": False})
            record = {**record, "streams": streams}
            if response_url:  # the newest one: an older url of the chat is never needed once it is there
                record.update(url=response_url, url_expires=now + URL_LIFETIME)
            return record, known
        return await self._change(_chat_key(chat), change)

    async def handled(self, chat: str, stream_id: str) -> None:
        """The turn is processed: the stream may close once its output has been sent."""
        now = self.clock()

        def change(record: dict):
            for stream in record.get("streams", []):
                if stream["id"] == stream_id:
                    stream.update(handled=True, changed=now)
            return record, None
        await self._change(_chat_key(chat), change)

    async def poll(self, stream_id: str) -> dict:
        """The plaintext reply to a stream (re)fresh: everything collected so far, finished when complete."""
        chat = await self._change(_stream_key(stream_id), lambda old: (old or None, (old or {}).get("chat")))
        now = self.clock()

        def change(record: dict):
            stream = next((s for s in record.get("streams", []) if s["id"] == stream_id), None)
            if stream is None:
                return record, None
            quiet = now - stream["changed"]
            if not stream["finished"] and (now - stream["started"] >= STREAM_WINDOW or (
                    stream["handled"] and ((stream["parts"] and quiet >= QUIET) or quiet >= GRACE))):
                stream["finished"] = True
            return record, dict(stream)
        stream = await self._change(_chat_key(chat), change) if chat else None
        if stream is None:  # unknown (expired): end it; later output goes through the url
            return {"msgtype": "stream", "stream": {"id": stream_id, "finish": True, "content": DONE}}
        content = "\n\n".join(stream["parts"]) or (DONE if stream["finished"] else PENDING)
        return {"msgtype": "stream", "stream": {"id": stream_id, "finish": stream["finished"], "content": fit_bytes(content, MAX_BYTES)}}

    async def _deliver(self, chat: str, content: str, *, url_allowed: bool) -> str | None:
        """Append to the chat's oldest open stream, or take its response_url; 'stream', a url, or None."""
        now = self.clock()

        def change(record: dict):
            # Several turns may be open in one chat; output goes to the oldest, as the outbox sends a chat in order.
            open_ = [s for s in record.get("streams", []) if not s["finished"] and now - s["started"] < STREAM_WINDOW]
            if open_:
                stream = min(open_, key=lambda s: s["started"])
                stream["parts"].append(content)
                stream["changed"] = now
                return record, "stream"
            if not url_allowed:
                return record, None
            url, expires = record.pop("url", ""), record.pop("url_expires", 0.0)  # single use, whatever happens
            return record, (url if url and expires > now else None)
        return await self._change(_chat_key(chat), change)

    async def post(self, target: Conversation, *, text=None, card=None, ephemeral_user=None) -> str | None:
        """Into the chat's open stream, else once through its response_url; a permanent SendError otherwise."""
        # The AI bot cannot show a message to one member only: "private" answers are seen by the whole chat.
        # Trimmed before it is kept: the chat's shared record stays small whatever an answer's length.
        content = fit_bytes((text if card is None else render_text(card)) or "", MAX_BYTES)
        where = await self._deliver(target.id, content, url_allowed=True)
        if where is None:
            raise SendError(f"wecom aibot: no unused response_url for {target.id} (each is good for one message "
                            "within 1 h; the next @-mention of the bot brings a new one)", permanent=True)
        if where != "stream":
            await self._post_url(where, content)
        return None  # neither a stream part nor a response_url message can be edited later

    async def update(self, target: Conversation, message_ref: str | None, card) -> str | None:
        """A changed card: a fresh copy while a turn in that chat is answering, else left as it is."""
        # Spending the chat's one response_url on a card refresh would leave none for a real answer (an
        # agent's reply to a customer who wrote in this group), and the copy there merely goes stale.
        if await self._deliver(target.id, render_text(card), url_allowed=False) is None:
            log.info("wecom aibot: card in %s not refreshed (no open stream)", target.id)
        return None

    async def _post_url(self, url: str, content: str) -> None:
        session = await self.http()
        async with session.post(url, json={"msgtype": "markdown", "markdown": {"content": fit_bytes(content, MAX_BYTES)}}) as response:
            data = await response.json(content_type=None)
        if data.get("errcode"):
            raise SendError(f"wecom aibot response_url {data['errcode']}: {data.get('errmsg', '')}", permanent=True)


class AibotCallback:
    """GET/POST /wecom/aibot: verify, decrypt, hand the message to the router, answer with a stream."""

    def __init__(self, *, token: str, encoding_aes_key: str, router: Inbox, sender: AibotSender, clock: Clock):
        self.token = token
        self.crypto = WeChatCrypto(token, encoding_aes_key, "")  # the AI bot's receiveid is the empty string
        self.router, self.sender, self.clock = router, sender, clock

    async def verify(self, request: web.Request) -> web.Response:
        """URL verification: answer the decrypted echostr, exactly (receiveid '' for the AI bot)."""
        return answer_url_verification(self.crypto, request)

    def _open(self, raw: bytes, request: web.Request) -> dict:
        """The decrypted, checked callback: Forged unless signed and fresh, Malformed when it is no AI-bot JSON."""
        try:
            envelope = json.loads(raw.decode("utf-8"))
        except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError; RecursionError: nested too deep
            raise Malformed("body is not JSON") from None
        encrypt = envelope.get("encrypt") if isinstance(envelope, dict) else None
        if not isinstance(encrypt, str) or not encrypt:
            raise Malformed("no encrypt in the body")
        check_signed(self.token, signature=query_value(request, "msg_signature"),
                     timestamp=query_value(request, "timestamp"), nonce=query_value(request, "nonce"),
                     encrypt=encrypt, now=self.clock.now().timestamp())
        try:
            return checked(json.loads(decrypt(self.crypto.key, encrypt, "")))
        except (ValueError, RecursionError) as exc:  # Malformed is a ValueError too
            raise Malformed(f"signed but malformed: {exc}") from None

    def _reply(self, plain: dict, nonce: str) -> web.Response:
        """An encrypted, signed passive reply (doc 101033)."""
        encrypt = PrpCrypto(self.crypto.key).encrypt(json.dumps(plain, ensure_ascii=False), "").decode()
        timestamp = str(int(time.time()))
        return web.json_response({"encrypt": encrypt, "msgsignature": _get_signature(self.token, timestamp, nonce, encrypt),
                                  "timestamp": timestamp, "nonce": nonce})

    async def receive(self, request: web.Request) -> web.Response:
        """A message or a stream refresh; a forged, stale or malformed one is refused and changes nothing."""
        nonce = query_value(request, "nonce")
        try:
            data = self._open(await request.read(), request)
            event = to_event(data)
        except Forged as exc:
            log.info("wecom aibot: refused a callback: %s", exc)
            return web.Response(status=403, text="invalid signature")
        except Malformed as exc:
            log.warning("wecom aibot: refused a malformed callback: %s", exc)
            return web.Response(status=400, text="malformed message")
        if data.get("msgtype") == "stream":
            return self._reply(await self.sender.poll((data.get("stream") or {}).get("id", "")), nonce)
        if event is None:
            return web.Response(text="")  # events (enter_chat…) and other message types: no answer
        chat = event.conversation.id
        # Derived from msgid: WeCom's retries of this message get the same stream, not a second answer.
        stream_id = "tb-" + hashlib.sha1(data["msgid"].encode()).hexdigest()[:20]
        known = await self.sender.begin(chat, stream_id, data.get("response_url", ""))

        async def handled() -> None:  # the stream may close once what the turn said has been sent
            await self.sender.handled(chat, stream_id)
        fresh = await self.router.deliver(event, background=True, done=handled)
        if not fresh and not known:
            await handled()  # handled before (e.g. before a restart)
        return self._reply(await self.sender.poll(stream_id), nonce)

    def mount(self, app: web.Application) -> None:
        """Add the callback routes."""
        app.router.add_get("/wecom/aibot", self.verify)
        app.router.add_post("/wecom/aibot", self.receive)


def mount_aibot(app: web.Application, *, settings: WeComAibotSettings, router: Inbox, messenger,
                state: SharedState, clock: Clock) -> AibotCallback:
    """Mount /wecom/aibot and route 'aibot:' conversations through the messenger."""
    # The app messenger's HTTP session: one pool, closed with the messenger.
    # Reply state in shared state: every replica's callbacks and dispatcher see the same.
    sender = AibotSender(state=state, http=messenger.api.http)
    messenger.route(PREFIX, sender)
    callback = AibotCallback(token=settings.token.get_secret_value(),
                             encoding_aes_key=settings.encoding_aes_key.get_secret_value(), router=router, sender=sender,
                             clock=clock)
    callback.mount(app)
    return callback
