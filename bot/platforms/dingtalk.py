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

from bot.events import Actor, ButtonPressed, Conversation, ConversationKind, FileRef, MessagePosted, Platform
from bot.platforms import Malformed
from bot.platforms.dingtalk_files import download_ref
from bot.platforms.dingtalk_messenger import SessionWebhooks
from bot.ports import Clock
from bot.ports.inbound import Inbox
from cards.dingtalk import parse_control

log = logging.getLogger(__name__)
SIGN_WINDOW_MS = 3_600_000  # DingTalk's rule: a callback's timestamp is within an hour of now
# Kinds of message the bot cannot use: the sender is told what it takes (see handlers/attachments.unusable).
UNUSABLE = {"markdown": "link", "link": "link", "interactiveCard": "link", "chatRecord": "link"}
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


def message_content(body: dict) -> tuple[str, tuple[FileRef, ...], str | None]:
    """(text, files, what it was when the bot cannot use it) of a robot message: text, richText (text and
    pictures), a picture, file or video by its downloadCode, a voice note by DingTalk's recognition of it."""
    kind = _str(body, "msgtype")
    if kind == "text":
        content = body.get("text")
        if not isinstance(content, dict) or not isinstance(content.get("content", ""), str):
            raise Malformed("text.content is not text")
        return content.get("content", ""), (), None
    content = body.get("content")
    if not isinstance(content, dict):
        raise Malformed(f"a {kind or 'message'} without its content")
    if kind == "richText":
        # richText is a list of pieces: text, pictures (downloadCode) and line breaks.
        pieces = content.get("richText")
        if not isinstance(pieces, list) or not all(isinstance(p, dict) for p in pieces):
            raise Malformed("content.richText is not a list of pieces")
        text = "".join(p["text"] for p in pieces if isinstance(p.get("text"), str))
        files = tuple(download_ref("picture", p["downloadCode"]) for p in pieces
                      if isinstance(p.get("downloadCode"), str) and p["downloadCode"])
        return text, files, None
    if kind == "audio":
        recognized = content.get("recognition")
        return (recognized, (), None) if isinstance(recognized, str) and recognized.strip() else ("", (), "voice")
    if kind in ("picture", "file", "video"):
        code = content.get("downloadCode")
        if not isinstance(code, str) or not code:
            raise Malformed(f"a {kind} without its downloadCode")
        name = content.get("fileName") if isinstance(content.get("fileName"), str) else ""
        return "", (download_ref(kind, code, name=name),), None
    return "", (), UNUSABLE.get(kind, "link")


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
    text, files, unusable = message_content(body)
    corp, robot_corp = _str(body, "senderCorpId"), _str(body, "chatbotCorpId")
    actor = Actor(platform=Platform.DINGTALK, user_id=sender_of(body), display_name=_str(body, "senderNick"),
                  external=bool(corp and robot_corp and corp != robot_corp))
    # The robot hears a group only when @-mentioned, and every 1:1 message: always addressed to it.
    return MessagePosted(delivery_id=f"msg:{msg_id}", actor=actor, conversation=conversation,
                         text=mentions_to_neutral(text, body), addressed=True,
                         mentioned=conversation.kind is ConversationKind.GROUP, files=files, unusable=unusable)


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
                # In memory now (this process's outbox answers through it), in the shared state after the answer.
                self.sessions.note(event.conversation.id, url, int(expires))
                self.router.later(self.sessions.persist(event.conversation.id, url, int(expires)))
        if event is None:
            log.info("dingtalk: nothing to do with a %s", body.get("msgtype") or body.get("type") or "callback")
            return
        await self.router.deliver(event, background=True)


def card_callback_token(secret: str) -> str:
    """The token in the card-callback URL the bot registers with DingTalk: only DingTalk (told by us) knows it."""
    return hmac.new(secret.encode(), b"ticketbot card callbacks", hashlib.sha256).hexdigest()[:32]


class DingTalkCallback:
    """POST /dingtalk/callback: check `timestamp` + `sign`, answer at once, work in the background. POST
    /dingtalk/card: card presses, at the URL the bot registered (its token in the query proves the sender)."""

    def __init__(self, *, secret: str, inbound: DingTalkInbound, clock: Clock):
        self.secret, self.inbound, self.clock = secret, inbound, clock
        self.card_token = card_callback_token(secret)

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

    async def receive_card(self, request: web.Request) -> web.Response:
        """A card press posted to the registered URL; a wrong token is refused (401) and changes nothing."""
        # How DingTalk signs HTTP card callbacks with the registered apiSecret is not documented where we could
        # check it: the URL's own secret token is what we can verify.
        if not hmac.compare_digest(request.query.get("token", "").encode(), self.card_token.encode()):
            log.info("dingtalk: refused a card callback without the registered token")
            return web.json_response({"error": "invalid token"}, status=401)
        try:
            body = json.loads(await request.read())
            if not isinstance(body, dict) or not is_card_callback(body):
                raise Malformed("not a card callback")
            await self.inbound.receive(body)
        except (ValueError, Malformed) as exc:
            log.warning("dingtalk: refused a malformed card callback: %s", exc)
            return web.json_response({"error": "malformed body"}, status=400)
        return web.json_response({})

    def mount(self, app: web.Application) -> None:
        """Add the callback routes."""
        app.router.add_post("/dingtalk/callback", self.receive)
        app.router.add_post("/dingtalk/card", self.receive_card)
