"""WeCom (企业微信) self-built app: the encrypted callback (wechatpy crypto + parsing) → neutral events.

Sending lives in wecom_messenger.py (members, app group chats) over wecom_api.py; other WeCom surfaces
(微信客服, the 智能机器人) have modules of their own and hook in by event name or route prefix.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web
from wechatpy.enterprise import parse_message
from wechatpy.enterprise.crypto import WeChatCrypto
from wechatpy.enterprise.exceptions import InvalidCorpIdException
from wechatpy.exceptions import InvalidSignatureException

from bot.config import WeComSettings
from bot.events import Actor, ButtonPressed, Conversation, ConversationKind, MessagePosted, Platform
from bot.platforms.wecom_messenger import card_ref
from cards import actions
from cards.wecom import EXPANDED
from handlers.router import Inbox

log = logging.getLogger(__name__)
# A callback event the app chat does not turn into a neutral event itself (e.g. kf_msg_or_event): its
# decrypted fields go to the handler registered for its Event name, after WeCom has had its answer.
EventHook = Callable[[dict], Awaitable[None]]


def query_value(request: web.Request, name: str) -> str:
    """A query parameter as WeCom meant it: aiohttp decodes '+' as a space, and WeCom's base64 values contain '+'
    when a client forgot to encode it."""
    return request.query.get(name, "").replace(" ", "+")


def answer_url_verification(crypto: WeChatCrypto, request: web.Request) -> web.Response:
    """WeCom's URL check (GET with an encrypted echostr): answer the plaintext exactly, or 403 when forged."""
    try:
        plain = crypto.check_signature(query_value(request, "msg_signature"), query_value(request, "timestamp"),
                                       query_value(request, "nonce"), query_value(request, "echostr"))
    except (InvalidSignatureException, InvalidCorpIdException, ValueError):
        return web.Response(status=403, text="invalid signature")
    return web.Response(text=plain.decode() if isinstance(plain, bytes) else plain)


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
        key = data.get("EventKey", "")
        # A click sends the button's key and, with it, what every drop-down of the card shows.
        choices = selected_items(data)
        task_id = data.get("TaskId") or ""
        view = actions.decode_view(key)
        expanded = view is not None and view[1] == EXPANDED
        # The click hands out a fresh single-use code for updating this very card: it becomes the card's ref.
        renewed = (card_ref(task_id, data["ResponseCode"], user, expanded=expanded)
                   if task_id and data.get("ResponseCode") else None)
        # Events carry no MsgId: sender + create time + key identify a redelivery.
        return ButtonPressed(delivery_id=f"evt:{user}:{data.get('CreateTime')}:{key}", actor=actor, conversation=dm,
                             action=key, choices=choices, message_ref=renewed, card_id=task_id if renewed else None)
    return None


def selected_items(data: dict) -> tuple[tuple[str, str], ...]:
    """(question key, chosen option) of each drop-down of a template_card_event."""
    # xmltodict makes one repeated element a dict and several a list.
    items = (data.get("SelectedItems") or {}).get("SelectedItem") or []
    found = []
    for item in items if isinstance(items, list) else [items]:
        options = (item.get("OptionIds") or {}).get("OptionId")
        option = options[0] if isinstance(options, list) else options
        if item.get("QuestionKey") and option:
            found.append((item["QuestionKey"], option))
    return tuple(found)


class WeComCallback:
    """GET/POST /wecom/callback: verify, decrypt, and hand the event to the router (worked after WeCom's answer)."""

    def __init__(self, *, settings: WeComSettings, router: Inbox):
        self.crypto = WeChatCrypto(settings.token.get_secret_value(), settings.encoding_aes_key.get_secret_value(),
                                   settings.corp_id)
        self.router = router
        self.hooks: dict[str, EventHook] = {}

    def on_event(self, name: str, hook: EventHook) -> None:
        """Hand callback events named `name` (lower case, e.g. 'kf_msg_or_event') to `hook`."""
        self.hooks[name] = hook

    async def verify(self, request: web.Request) -> web.Response:
        """URL verification: answer the decrypted echostr, exactly."""
        return answer_url_verification(self.crypto, request)

    async def receive(self, request: web.Request) -> web.Response:
        """An encrypted message or event; a forged one is refused and changes nothing."""
        body = await request.text()
        try:
            xml = self.crypto.decrypt_message(body, query_value(request, "msg_signature"), query_value(request, "timestamp"),
                                              query_value(request, "nonce"))
        except (InvalidSignatureException, InvalidCorpIdException, ValueError, KeyError):
            return web.Response(status=403, text="invalid signature")
        data = parse_message(xml)._data
        hook = self.hooks.get((data.get("Event") or "").lower()) if (data.get("MsgType") or "").lower() == "event" else None
        if hook is not None:
            self.router.later(hook(data))
            return web.Response(text="")
        event = to_event(data)
        if event is not None:
            # WeCom's answer is this response: the work must not hold it (WeCom retries after 5 s).
            await self.router.deliver(event, background=True)
        return web.Response(text="")

    def mount(self, app: web.Application) -> None:
        """Add the callback routes."""
        app.router.add_get("/wecom/callback", self.verify)
        app.router.add_post("/wecom/callback", self.receive)
