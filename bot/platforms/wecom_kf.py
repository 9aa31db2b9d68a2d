"""微信客服 (WeChat Customer Service, "kf"): WeChat customers' messages become tickets; answers go back by kf/send_msg.

WeCom's callback only says "something happened" (kf_msg_or_event with a short-lived Token and the OpenKfId);
the messages themselves are pulled with kf/sync_msg, page by page from a cursor. Each customer text message
becomes a neutral MessagePosted in the conversation "kf:{open_kfid}:{external_userid}", and the messenger
routes everything addressed to such a conversation back here.
"""

from __future__ import annotations

import asyncio
import logging

from bot.events import Actor, Conversation, ConversationKind, MessagePosted, Platform
from bot.platforms.common import send_parts
from bot.platforms.wecom_api import WeComApi, text_parts
from bot.platforms.wecom_files import UNUSABLE, media_ref
from bot.ports.inbound import Inbox
from cards.wecom import render_text

log = logging.getLogger(__name__)

PREFIX = "kf:"
ORIGIN_CUSTOMER = 3  # sync_msg origin: 3 = the WeChat customer, 4 = system event, 5 = a servicer
SYNC_LIMIT = 1000  # the most sync_msg returns per page
MAX_PAGES = 100  # a guard against a server that keeps saying has_more
# A kf account may send a customer 5 messages per message of theirs (within 48 h, doc 94677 发送消息): a long
# answer takes at most this many of them (the last trimmed with '…'), leaving room for what follows it.
MAX_PARTS = 3


def conversation_id(open_kfid: str, external_userid: str) -> str:
    """The neutral conversation id of one WeChat customer talking to one kf account."""
    return f"{PREFIX}{open_kfid}:{external_userid}"


def parse_conversation_id(conversation: str) -> tuple[str, str]:
    """(open_kfid, external_userid) of a 'kf:…' conversation id."""
    open_kfid, _, external_userid = conversation.removeprefix(PREFIX).partition(":")
    return open_kfid, external_userid


MEDIA_KINDS = ("image", "video", "file")  # taken in by their media_id (media/get), like the app chat's


def message_content(message: dict) -> str:
    """A customer's text ('' for anything else)."""
    if message.get("msgtype") == "text":
        return (message.get("text") or {}).get("content", "")
    return ""


def to_event(message: dict, display_name: str = "") -> MessagePosted | None:
    """One sync_msg message → a neutral event: text, a picture, video or file (by media_id), or — for a kind the bot
    cannot use (a location, a link, a voice note: kf gives no recognized text) — an event that gets the customer an
    answer saying what the bot takes. None for system events and servicers' messages."""
    if message.get("origin") != ORIGIN_CUSTOMER:
        return None
    open_kfid, user, kind = message.get("open_kfid", ""), message.get("external_userid", ""), message.get("msgtype")
    content = message_content(message)
    files: tuple = ()
    unusable = None
    if kind in MEDIA_KINDS:
        media_id = (message.get(kind) or {}).get("media_id") if isinstance(message.get(kind), dict) else None
        files = (media_ref(kind, media_id),) if isinstance(media_id, str) and media_id else ()
        unusable = None if files else kind
    elif kind != "text":
        unusable = UNUSABLE.get(kind, "voice" if kind == "voice" else "other")
    if not (open_kfid and user and message.get("msgid") and (content.strip() or files or unusable)):
        return None
    # The requester is (wecom, external_userid): external_userid is per corp, so one WeChat user writing to
    # two kf accounts is one requester — their messages join one open ticket, and answers go to the account
    # they wrote to last (the ticket keeps the latest customer conversation). external=True keeps a customer
    # a customer even if their id happened to equal a member's id in the directory.
    return MessagePosted(
        delivery_id=f"kf:{message['msgid']}",
        actor=Actor(platform=Platform.WECOM, user_id=user, display_name=display_name, external=True),
        conversation=Conversation(platform=Platform.WECOM, id=conversation_id(open_kfid, user),
                                  kind=ConversationKind.DM),
        text=content, files=files, unusable=unusable,
    )


class KfSync:
    """Pulls kf messages after each kf_msg_or_event and hands customers' texts to the core, in order."""

    def __init__(self, *, api: WeComApi, router: Inbox):
        self.api = api
        self.router = router
        # The next_cursor per kf account, in memory: after a restart the first sync re-reads what WeCom still
        # keeps, and router.deliver drops every message already recorded (deliveries are keyed by msgid), so
        # a lost cursor costs a re-read, never a second ticket or a second answer.
        self.cursors: dict[str, str] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._names: dict[str, str] = {}

    def _lock(self, open_kfid: str) -> asyncio.Lock:
        return self._locks.setdefault(open_kfid, asyncio.Lock())

    async def on_event(self, data: dict) -> None:
        """The kf_msg_or_event hook: sync that kf account; failures are logged (the next event syncs again)."""
        open_kfid, token = data.get("OpenKfId") or "", data.get("Token") or ""
        if not (isinstance(open_kfid, str) and isinstance(token, str)):
            log.warning("kf: ignored a kf_msg_or_event whose OpenKfId or Token is not text")
            return
        try:
            await self.sync(open_kfid, token=token)
        except Exception:  # a background task: nobody else would see it
            log.exception("kf sync of %s failed", open_kfid or "(no OpenKfId)")

    async def sync(self, open_kfid: str, *, token: str = "") -> int:
        """Read every new page for `open_kfid` and process its customer messages; returns how many were new."""
        # One sync per kf account at a time: two events close together must not read the same page twice;
        # the second waits and then starts from the cursor the first one left.
        async with self._lock(open_kfid):
            new = 0
            for _ in range(MAX_PAGES):
                payload: dict = {"limit": SYNC_LIMIT}
                if open_kfid:
                    payload["open_kfid"] = open_kfid
                if token:
                    payload["token"] = token  # the callback's Token lifts sync_msg's stricter rate limit
                if cursor := self.cursors.get(open_kfid):
                    payload["cursor"] = cursor
                page = await self.api.call("kf/sync_msg", payload)
                for message in page.get("msg_list") or []:
                    new += await self._handle(message)
                # Advance only after the page is recorded: a failure mid-page re-reads it, and dedupe holds.
                if page.get("next_cursor"):
                    self.cursors[open_kfid] = page["next_cursor"]
                if not page.get("has_more"):
                    break
            return new

    async def _handle(self, message: dict) -> int:
        if to_event(message) is None:
            return 0
        # Build it again with the nickname: looked up only for messages that matter.
        event = to_event(message, await self._display_name(message["external_userid"]))
        # In order, not in the background: a customer's second message must find the ticket the first opened.
        # Seen before (a re-read page, an overlapping event): no effect.
        return int(await self.router.deliver(event))

    async def _display_name(self, external_userid: str) -> str:
        """The customer's WeChat nickname (cached), so agents see a name; '' when WeCom will not say."""
        if external_userid not in self._names:
            try:
                data = await self.api.call("kf/customer/batchget", {"external_userid_list": [external_userid]})
            except Exception as exc:  # a name is a nicety: never lose the message over it
                log.warning("kf customer name of %s unavailable: %s", external_userid, exc)
                return ""
            found = {c.get("external_userid"): c.get("nickname", "") for c in data.get("customer_list") or []}
            self._names[external_userid] = found.get(external_userid, "")
        return self._names[external_userid]


class KfSender:
    """Sends to 'kf:…' conversations through kf/send_msg: text only, cards as text."""

    def __init__(self, *, api: WeComApi):
        self.api = api

    async def post(self, target: Conversation, *, text=None, card=None, ephemeral_user=None) -> str | None:
        """Text (or the card as text) to the WeChat customer; a kf chat is one-to-one, so private is plain."""
        open_kfid, user = parse_conversation_id(target.id)

        async def send(part: str) -> str | None:
            # A session that no longer lets the app send (95016-95018) fails as permanent in WeComApi: not retried.
            data = await self.api.call("kf/send_msg", {"touser": user, "open_kfid": open_kfid, "msgtype": "text",
                                                       "text": {"content": part}})
            return data.get("msgid")
        return await send_parts(text_parts((text if card is None else render_text(card)) or "", most=MAX_PARTS), send)

    async def send_media(self, target: Conversation, message: dict) -> str | None:
        """An uploaded picture or file (`message`: its msgtype and media_id) to the WeChat customer."""
        open_kfid, user = parse_conversation_id(target.id)
        data = await self.api.call("kf/send_msg", {"touser": user, "open_kfid": open_kfid, **message})
        return data.get("msgid")

    async def update(self, target: Conversation, message_ref: str, card) -> str | None:
        """Send nothing and keep the reference: a WeChat customer's card copy is not refreshed."""
        # WeChat cannot edit a sent message, and kf allows only 5 messages per customer message (48 h).
        # What matters to the customer (replies, resolution, CSAT) reaches them as messages of its own;
        # re-sending the card on every triage step would spend that budget and bury the replies.
        return message_ref


def setup_kf(callback, messenger, *, api: WeComApi, router: Inbox) -> KfSync:
    """Hook kf into the app callback (kf_msg_or_event) and the messenger (route 'kf:')."""
    sync = KfSync(api=api, router=router)
    callback.on_event("kf_msg_or_event", sync.on_event)
    messenger.route(PREFIX, KfSender(api=api))
    return sync
