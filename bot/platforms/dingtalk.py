"""DingTalk (钉钉) enterprise-internal app robot: robot messages and card callbacks → neutral events.

Both ways in — the HTTP callback `POST /dingtalk/callback` (signed with the app secret) and Stream mode (the
dingtalk-stream WebSocket, dingtalk_streaming.py) — hand the same JSON bodies to `DingTalkInbound`, which keeps
the chat's sessionWebhook and delivers one neutral event through the router. Sending lives in
dingtalk_messenger.py over dingtalk_api.py.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import re

from aiohttp import web

from bot.events import Actor, ButtonPressed, Conversation, ConversationKind, MessagePosted, Platform
from bot.platforms import Malformed
from bot.platforms.dingtalk_messenger import SessionWebhooks
from bot.ports import Clock
from cards.dingtalk import parse_control
from handlers.router import Inbox

log = logging.getLogger(__name__)
SIGN_WINDOW_MS = 3_600_000  # DingTalk's rule: a callback's timestamp is within an hour of now
# What a person sent that is not text, as the line that lands on their ticket: the agent learns that something
# came instead of the sender hearing nothing.
PLACEHOLDERS = {"picture": "[图片 image]", "audio": "[语音 voice]", "video": "[视频 video]", "file": "[文件 file]"}
_AT = re.compile(r"@(\S+)")


class Forged(Exception):
    """Not signed with the app secret, or signed too long ago: 401, no effect."""


def sign(timestamp: str, secret: str) -> str:
    """DingTalk's callback signature: base64(HMAC-SHA256(app secret, timestamp + '\\n' + app secret))."""
    digest = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def check_signed(*, timestamp: str, signature: str, secret: str, now_ms: int) -> None:
    """The `timestamp` and `sign` headers as DingTalk sends them, within an hour of now; Forged if not."""
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 15):
        raise Forged("no timestamp")
    if not hmac.compare_digest(sign(timestamp, secret).encode(), signature.encode("utf-8", "replace")):
        raise Forged("signature does not match")
    if abs(now_ms - int(timestamp)) > SIGN_WINDOW_MS:
        raise Forged(f"timestamp {timestamp} is {(now_ms - int(timestamp)) // 1000} s away from now")


def _str(body: dict, name: str, *, required: bool = False) -> str:
    value = body.get(name)
    if value is None or value == "":
        if required:
            raise Malformed(f"{name} is missing")
        return ""
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise Malformed(f"{name} is not text")
    return str(value)


def is_card_callback(body: dict) -> bool:
    """True for an interactive card's callback (a press), False for a robot message."""
    return "outTrackId" in body and "msgId" not in body


def message_text(body: dict) -> str | None:
    """What the person wrote (placeholders for pictures, files …); None for a kind the bot does not read."""
    kind = _str(body, "msgtype")
    if kind == "text":
        content = body.get("text")
        if not isinstance(content, dict) or not isinstance(content.get("content", ""), str):
            raise Malformed("text.content is not text")
        return content.get("content", "")
    if kind == "richText":
        # richText is a list of pieces: text, pictures (downloadCode) and line breaks.
        pieces = (body.get("content") or {}).get("richText") if isinstance(body.get("content"), dict) else None
        if not isinstance(pieces, list) or not all(isinstance(p, dict) for p in pieces):
            raise Malformed("content.richText is not a list of pieces")
        return "".join(p["text"] if isinstance(p.get("text"), str) else PLACEHOLDERS["picture"]
                       if p.get("downloadCode") or p.get("type") == "picture" else "" for p in pieces)
    return PLACEHOLDERS.get(kind)


def mentions_to_neutral(text: str, body: dict) -> str:
    """DingTalk shows @-mentions as '@Name' and lists the people in `atUsers` (in order): '@Name' → '@staffId',
    the neutral form the grammar reads; the robot's own @ (if still in the text) is dropped."""
    at_users = body.get("atUsers") or []
    if not isinstance(at_users, list) or not all(isinstance(u, dict) for u in at_users):
        raise Malformed("atUsers is not a list of people")
    robot = _str(body, "chatbotUserId")
    others = [u for u in at_users if u.get("dingtalkId") != robot or not robot]
    named = [m for m in _AT.finditer(text)]
    if (robot and len(named) == len(others) + 1 and len(at_users) > len(others)
            and not text[:named[0].start()].strip()):
        # The robot's @ was left in, leading the text. One further on is a word the person wrote (`@finance`,
        # a department): kept, for the directory to read.
        text = text[:named[0].start()] + text[named[0].end():]
        named = list(_AT.finditer(text))
    if len(named) != len(others):
        return text.strip()  # cannot pair them: the directory still knows people by name
    for match, user in reversed(list(zip(named, others, strict=True))):
        staff = user.get("staffId")
        if isinstance(staff, str) and staff:
            text = text[:match.start()] + f"@{staff}" + text[match.end():]
    return text.strip()


def conversation_of(body: dict) -> Conversation:
    """A group by its conversationId; a 1:1 chat by the sender's staffId (or senderId for an outsider)."""
    kind = _str(body, "conversationType", required=True)
    if kind == "2":
        return Conversation(platform=Platform.DINGTALK, id=_str(body, "conversationId", required=True),
                            kind=ConversationKind.GROUP)
    if kind != "1":
        raise Malformed(f"conversationType {kind!r} is neither 1 nor 2")
    return Conversation(platform=Platform.DINGTALK, id=sender_of(body), kind=ConversationKind.DM)


def sender_of(body: dict) -> str:
    """The sender as the directory knows staff (staffId); someone outside the organisation by senderId."""
    return _str(body, "senderStaffId") or _str(body, "senderId", required=True)


def to_event(body: dict) -> MessagePosted | None:
    """A robot message → MessagePosted addressed to the bot; None for a kind the bot does not read."""
    msg_id = _str(body, "msgId", required=True)
    conversation = conversation_of(body)
    text = message_text(body)
    if text is None:
        return None
    corp, robot_corp = _str(body, "senderCorpId"), _str(body, "chatbotCorpId")
    actor = Actor(platform=Platform.DINGTALK, user_id=sender_of(body), display_name=_str(body, "senderNick"),
                  external=bool(corp and robot_corp and corp != robot_corp))
    # The robot hears a group only when @-mentioned, and every 1:1 message: always addressed to it.
    return MessagePosted(delivery_id=f"msg:{msg_id}", actor=actor, conversation=conversation,
                         text=mentions_to_neutral(text, body), addressed=True)


def card_press(body: dict, *, delivery_id: str | None = None) -> ButtonPressed | None:
    """A card callback → ButtonPressed on the card `outTrackId`; None when it presses no control of ours."""
    user, card = _str(body, "userId", required=True), _str(body, "outTrackId", required=True)
    content = body.get("content")
    try:
        content = json.loads(content) if isinstance(content, str) else content
    except ValueError:
        raise Malformed("content is not JSON") from None
    private = (content or {}).get("cardPrivateData") if isinstance(content, dict) else None
    ids = private.get("actionIds") if isinstance(private, dict) else None
    if not isinstance(ids, list) or not ids or not isinstance(ids[0], str):
        return None
    action, value = parse_control(ids[0])
    if _str(body, "spaceType") == "IM_GROUP" and _str(body, "spaceId"):
        conversation = Conversation(platform=Platform.DINGTALK, id=_str(body, "spaceId"), kind=ConversationKind.GROUP)
    else:
        conversation = Conversation(platform=Platform.DINGTALK, id=user, kind=ConversationKind.DM)
    # A control's id carries the card version it was drawn at: the same press again is the same delivery.
    return ButtonPressed(delivery_id=delivery_id or f"card:{card}:{user}:{ids[0]}",
                         actor=Actor(platform=Platform.DINGTALK, user_id=user), conversation=conversation,
                         action=action, value=value, message_ref=card)


class DingTalkInbound:
    """What both ways in share: keep the chat's sessionWebhook, turn the body into an event, deliver it once."""

    def __init__(self, *, router: Inbox, sessions: SessionWebhooks):
        self.router, self.sessions = router, sessions

    async def receive(self, body: object, *, delivery_id: str | None = None) -> None:
        """Deliver one robot message or card callback (worked in the background); Malformed for a bad shape."""
        if not isinstance(body, dict):
            raise Malformed("the body is not a JSON object")
        if is_card_callback(body):
            event = card_press(body, delivery_id=delivery_id)
        else:
            event = to_event(body)
            url, expires = _str(body, "sessionWebhook"), _str(body, "sessionWebhookExpiredTime")
            if event is not None and url and expires.isdigit():
                await self.sessions.remember(event.conversation.id, url, int(expires))
        if event is None:
            log.info("dingtalk: nothing to do with a %s", body.get("msgtype") or body.get("type") or "callback")
            return
        await self.router.deliver(event, background=True)


class DingTalkCallback:
    """POST /dingtalk/callback: check `timestamp` + `sign`, answer at once, work in the background."""

    def __init__(self, *, secret: str, inbound: DingTalkInbound, clock: Clock):
        self.secret, self.inbound, self.clock = secret, inbound, clock

    async def receive(self, request: web.Request) -> web.Response:
        """A robot message or card callback; forged, stale or malformed ones are refused and change nothing."""
        try:
            check_signed(timestamp=request.headers.get("timestamp", ""), signature=request.headers.get("sign", ""),
                         secret=self.secret, now_ms=int(self.clock.now().timestamp() * 1000))
        except Forged as exc:
            log.info("dingtalk: refused a callback: %s", exc)
            return web.json_response({"error": "invalid signature"}, status=401)
        try:
            body = json.loads(await request.read())
            await self.inbound.receive(body)
        except (ValueError, Malformed) as exc:  # json's errors are ValueErrors, as is Malformed
            log.warning("dingtalk: refused a signed but malformed callback: %s", exc)
            return web.json_response({"error": "malformed body"}, status=400)
        return web.json_response({})

    def mount(self, app: web.Application) -> None:
        """Add the callback route."""
        app.router.add_post("/dingtalk/callback", self.receive)
