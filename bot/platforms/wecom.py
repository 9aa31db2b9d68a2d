"""WeCom (企业微信) self-built app: the encrypted callback (wechatpy crypto + parsing) → neutral events.

Sending lives in wecom_messenger.py (members, app group chats) over wecom_api.py; other WeCom surfaces
(微信客服, the 智能机器人) have modules of their own and hook in by event name or route prefix.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web
from wechatpy.enterprise.crypto import WeChatCrypto
from wechatpy.enterprise.exceptions import InvalidCorpIdException
from wechatpy.exceptions import InvalidSignatureException

from bot.config import WeComSettings
from bot.events import Actor, ButtonPressed, Conversation, ConversationKind, MessagePosted, Platform
from bot.platforms import Malformed
from bot.platforms.wecom_envelope import Forged, check_signed, ciphertext_of, decrypt, query_value, read_xml
from bot.platforms.wecom_files import DEFAULT_NAMES, UNUSABLE, media_ref
from bot.platforms.wecom_messenger import card_ref
from bot.ports import Clock
from bot.ports.inbound import Inbox
from cards import actions
from cards.wecom import EXPANDED

log = logging.getLogger(__name__)
# A callback event the app chat does not turn into a neutral event itself (e.g. kf_msg_or_event): its
# decrypted fields go to the handler registered for its Event name, after WeCom has had its answer.
EventHook = Callable[[dict], Awaitable[None]]


def answer_url_verification(crypto: WeChatCrypto, request: web.Request) -> web.Response:
    """WeCom's URL check (GET with an encrypted echostr): answer the plaintext exactly, or 403 when forged."""
    try:
        plain = crypto.check_signature(query_value(request, "msg_signature"), query_value(request, "timestamp"),
                                       query_value(request, "nonce"), query_value(request, "echostr"))
    except (InvalidSignatureException, InvalidCorpIdException, ValueError):
        return web.Response(status=403, text="invalid signature")
    return web.Response(text=plain.decode() if isinstance(plain, bytes) else plain)


def to_event(data: dict) -> MessagePosted | ButtonPressed | None:
    """A decrypted callback (as a dict) → neutral event; None for what the bot does not act on; Malformed for
    fields WeCom always sends that are missing or of the wrong shape."""
    user, kind = _text(data, "FromUserName"), _text(data, "MsgType").lower()
    if not user:
        raise Malformed("a callback without FromUserName")
    dm = Conversation(platform=Platform.WECOM, id=user, kind=ConversationKind.DM)
    actor = Actor(platform=Platform.WECOM, user_id=user)
    if kind == "text":
        if not _text(data, "MsgId"):
            raise Malformed("a text message without MsgId")
        return MessagePosted(delivery_id=f"msg:{data['MsgId']}", actor=actor, conversation=dm,
                             text=_text(data, "Content"))
    if kind in DEFAULT_NAMES or kind in UNUSABLE:
        return media_event(data, kind, actor, dm)
    if kind == "event" and _text(data, "Event").lower() == "template_card_event":
        key = _text(data, "EventKey")
        # A click sends the button's key and, with it, what every drop-down of the card shows.
        choices = selected_items(data)
        task_id, response_code = _text(data, "TaskId"), _text(data, "ResponseCode")
        ref = actions.decode(key)
        expanded = ref is not None and ref.action == actions.VIEW and ref.variant == EXPANDED
        # The click hands out a fresh single-use code for updating this very card: it becomes the card's ref.
        renewed = card_ref(task_id, response_code, user, expanded=expanded) if task_id and response_code else None
        # Events carry no MsgId: sender + create time + key identify a redelivery.
        return ButtonPressed(delivery_id=f"evt:{user}:{_text(data, 'CreateTime')}:{key}", actor=actor,
                             conversation=dm, action=key, choices=choices, message_ref=renewed,
                             card_id=task_id if renewed else None)
    return None


def media_event(data: dict, kind: str, actor: Actor, dm: Conversation) -> MessagePosted:
    """A picture, voice note, video or file (by its MediaId, fetched later), or a kind the bot cannot use (a
    location, a link card): a MessagePosted all the same, so the sender always hears back. A voice note WeCom
    recognized is taken as its text."""
    if not _text(data, "MsgId"):
        raise Malformed(f"a {kind} message without MsgId")
    text, files, unusable = "", (), None
    if kind in UNUSABLE:
        unusable = UNUSABLE[kind]
    elif not _text(data, "MediaId"):
        raise Malformed(f"a {kind} message without MediaId")
    else:
        text = _text(data, "Recognition") if kind == "voice" else ""
        if kind == "voice" and not text.strip():
            unusable = "voice"  # nothing to read: say so rather than keep a sound nobody searches
        else:
            files = (media_ref(kind, data["MediaId"], name=_text(data, "FileName") or _text(data, "Title")),)
    return MessagePosted(delivery_id=f"msg:{data['MsgId']}", actor=actor, conversation=dm, text=text, files=files,
                         unusable=unusable)


def _text(data: dict, name: str) -> str:
    """A field that WeCom sends as text ('' when absent); Malformed when it is a structure instead."""
    value = data.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise Malformed(f"<{name}> is not text")
    return value


def selected_items(data: dict) -> tuple[tuple[str, str], ...]:
    """(question key, chosen option) of each drop-down of a template_card_event."""
    # xmltodict makes one repeated element a dict and several a list.
    selected = data.get("SelectedItems") or {}
    if not isinstance(selected, dict):
        raise Malformed("<SelectedItems> is not a list of items")
    items = selected.get("SelectedItem") or []
    found = []
    for item in items if isinstance(items, list) else [items]:
        if not isinstance(item, dict) or not isinstance(item.get("OptionIds") or {}, dict):
            raise Malformed("a <SelectedItem> without its fields")
        options = (item.get("OptionIds") or {}).get("OptionId")
        option = options[0] if isinstance(options, list) and options else options
        if _text(item, "QuestionKey") and isinstance(option, str) and option:
            found.append((item["QuestionKey"], option))
    return tuple(found)


class WeComCallback:
    """GET/POST /wecom/callback: verify, decrypt, and hand the event to the router (worked after WeCom's answer)."""

    def __init__(self, *, settings: WeComSettings, router: Inbox, clock: Clock):
        self.token = settings.token.get_secret_value()
        self.corp_id = settings.corp_id
        self.crypto = WeChatCrypto(self.token, settings.encoding_aes_key.get_secret_value(), self.corp_id)
        self.router, self.clock = router, clock
        self.hooks: dict[str, EventHook] = {}

    def on_event(self, name: str, hook: EventHook) -> None:
        """Hand callback events named `name` (lower case, e.g. 'kf_msg_or_event') to `hook`."""
        self.hooks[name] = hook

    async def verify(self, request: web.Request) -> web.Response:
        """URL verification: answer the decrypted echostr, exactly."""
        return answer_url_verification(self.crypto, request)

    async def receive(self, request: web.Request) -> web.Response:
        """An encrypted message or event; a forged, stale or malformed one is refused and changes nothing."""
        try:
            encrypt = ciphertext_of(await request.read())
        except Malformed as exc:  # nothing signed to look at: someone else's junk
            log.info("wecom: refused a callback that is no WeCom envelope: %s", exc)
            return web.Response(status=400, text="malformed body")
        try:
            check_signed(self.token, signature=query_value(request, "msg_signature"),
                         timestamp=query_value(request, "timestamp"), nonce=query_value(request, "nonce"),
                         encrypt=encrypt, now=self.clock.now().timestamp())
        except Forged as exc:
            log.info("wecom: refused a callback: %s", exc)
            return web.Response(status=403, text="invalid signature")
        try:
            data = read_xml(decrypt(self.crypto.key, encrypt, self.corp_id))
            hook = self.hooks.get(_text(data, "Event").lower()) if _text(data, "MsgType").lower() == "event" else None
            event = None if hook is not None else to_event(data)
        except Malformed as exc:
            log.warning("wecom: refused a signed but malformed callback: %s", exc)
            return web.Response(status=400, text="malformed message")
        if hook is not None:
            self.router.later(hook(data))
        elif event is not None:
            # WeCom's answer is this response: the work must not hold it (WeCom retries after 5 s).
            await self.router.deliver(event, background=True)
        return web.Response(text="")

    def mount(self, app: web.Application) -> None:
        """Add the callback routes."""
        app.router.add_get("/wecom/callback", self.verify)
        app.router.add_post("/wecom/callback", self.receive)
