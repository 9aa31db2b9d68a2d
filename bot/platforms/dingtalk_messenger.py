"""DingTalkMessenger: text and interactive cards to 1:1 chats and groups, through the conversation's sessionWebhook
while it is valid, else the robot OpenAPI; cards updated in place by their cardBizId; paced per chat and per app.

Conversations: a group is its openConversationId (`cid…`); a 1:1 chat is the person's staffId, or — for someone
outside the organisation, who has none — their senderId (`$:LWCP…`), reachable only while the chat's
sessionWebhook lives (about 90 minutes after their last message).
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from bot.events import Conversation, ConversationKind, Platform
from bot.platforms.common import ApiThrottled, WindowPacer, send_parts, text_parts
from bot.platforms.dingtalk_api import DingTalkApi, DingTalkApiError
from bot.ports import Pacing, SendError, SharedState
from cards.dingtalk import TEMPLATE, card_data_json, render_markdown
from cards.model import Card, Image

log = logging.getLogger(__name__)

# DingTalk holds a robot back for a while past 20 messages a minute in one chat: keep under it ourselves.
CHAT_LIMIT, CHAT_WINDOW = 20, 60.0
# And the app's calls per second to the robot APIs (DingTalk's default QPS for an internal app's robot).
APP_LIMIT, APP_WINDOW = 20, 1.0
BATCH_USERS = 20  # oToMessages/batchSend takes at most 20 userIds a call
TEXT_BYTES = 5000  # a part of a long text; msgParam (a JSON string) may be at most 15,000 bytes
MAX_PARTS = 5
WEBHOOK_MARGIN_MS = 60_000  # a sessionWebhook this close to expiry is not used: the OpenAPI is surer
SESSION_KEEP = 3 * 3600  # seconds a remembered sessionWebhook is kept (it lives ~90 min)
MARKDOWN_REF = "md:"  # the ref of a card sent as markdown: nothing to update in place, a fresh copy instead


def reachable_by_api(conversation: Conversation) -> bool:
    """True when the OpenAPI can write to the conversation (a group, or a member's staffId); an outsider's
    senderId is known only to the chat's sessionWebhook."""
    return not conversation.id.startswith("$:")


class SessionWebhooks:
    """Each conversation's newest sessionWebhook, in the shared state so every replica sends through it."""

    def __init__(self, state: SharedState, *, clock: Callable[[], float] = time.time):
        self.state, self.clock = state, clock

    def _times(self) -> dict:
        now = self.clock()
        return {"now": datetime.fromtimestamp(now, UTC), "expires_at": datetime.fromtimestamp(now + SESSION_KEEP, UTC)}

    async def remember(self, conversation_id: str, url: str, expires_ms: int) -> None:
        """Keep `url` as the conversation's webhook until `expires_ms` (epoch ms), unless a later one is kept."""
        def change(old: dict):
            if old.get("expires", 0) > expires_ms:
                return old, None
            return {"url": url, "expires": expires_ms}, None
        await self.state.change_state(f"dingtalk:session:{conversation_id}", change, **self._times())

    async def usable(self, conversation_id: str) -> str | None:
        """The conversation's webhook if it is valid for a while yet, else None."""
        found = await self.state.change_state(f"dingtalk:session:{conversation_id}",
                                              lambda old: (old or None, old), **self._times())
        if found and found.get("expires", 0) - WEBHOOK_MARGIN_MS > self.clock() * 1000:
            return found.get("url")
        return None


class DingTalkMessenger:
    """Robot messages: sessionWebhook, else oToMessages/batchSend (1:1) and groupMessages/send (groups); cards by
    robot/interactiveCards (StandardCard), updated with PUT by cardBizId."""

    platform = Platform.DINGTALK
    # DingTalk counts per chat per minute and per app per second: the pacers keep those windows (PacingDelay).
    pacing = Pacing()

    def __init__(self, *, api: DingTalkApi, robot_code: str, sessions: SessionWebhooks,
                 monotonic: Callable[[], float] = time.monotonic):
        self.api, self.robot_code, self.sessions = api, robot_code, sessions
        self.chats = WindowPacer(limit=CHAT_LIMIT, window=CHAT_WINDOW, label="dingtalk chat", monotonic=monotonic)
        self.app = WindowPacer(limit=APP_LIMIT, window=APP_WINDOW, label="dingtalk app", monotonic=monotonic)

    async def upload_image(self, target: Conversation, image: Image) -> str:
        """oapi media/upload (type image) of the card's picture; its media_id is what the card shows."""
        if not image.data:
            raise SendError("dingtalk upload: an image without data", permanent=True)
        return await self.api.upload("image", data=image.data, filename=image.filename, content_type="image/png")

    def _take(self, target: Conversation, count: int = 1) -> None:
        self.chats.take(target.id, count)
        self.app.take("app", 1)

    async def post(self, target: Conversation, *, text: str | None = None, card: Card | None = None,
                   ephemeral_user: str | None = None) -> str | None:
        """Text or a card; a private answer in a group goes to the person's 1:1 chat with the robot."""
        if ephemeral_user and ephemeral_user != target.id:
            # DingTalk groups have no "only you can see this": a private answer is a 1:1 message.
            target = Conversation(platform=Platform.DINGTALK, id=ephemeral_user, kind=ConversationKind.DM)
        if card is not None:
            self._take(target)
            return await self._send_card(target, card)
        parts = text_parts(text or "", limit=TEXT_BYTES, most=MAX_PARTS)
        self._take(target, len(parts))
        return await send_parts(parts, lambda part: self._send_text(target, part))

    async def _send_text(self, target: Conversation, part: str) -> str | None:
        if await self._via_webhook(target, {"msgtype": "text", "text": {"content": part}}):
            return None
        return await self._via_api(target, "sampleText", {"content": part})

    async def _via_webhook(self, target: Conversation, payload: dict) -> bool:
        """Send through the conversation's sessionWebhook if it has a valid one; False when it has none."""
        url = await self.sessions.usable(target.id)
        if url is None:
            if not reachable_by_api(target):
                raise SendError(f"dingtalk: {target.id} can be answered only in a chat they opened, and its "
                                "sessionWebhook has expired", permanent=True)
            return False
        try:
            await self.api.hook(url, payload)
        except ApiThrottled:
            raise
        except DingTalkApiError as exc:
            if not reachable_by_api(target):
                raise
            log.info("dingtalk: sessionWebhook of %s refused (%s); sending through the OpenAPI", target.id, exc)
            return False
        return True

    async def _via_api(self, target: Conversation, msg_key: str, param: dict) -> str | None:
        body = {"robotCode": self.robot_code, "msgKey": msg_key, "msgParam": json.dumps(param, ensure_ascii=False)}
        if target.kind is ConversationKind.DM:
            throttled = await self.batch_send([target.id], msg_key, param)
            if throttled:
                # Not an error: DingTalk keeps this user's messages back for now. Send again later, not lost.
                raise ApiThrottled("dingtalk", "oToMessages/batchSend", "flowControlled", retry_after=CHAT_WINDOW)
            return None
        data = await self.api.call("POST", "/v1.0/robot/groupMessages/send",
                                   {**body, "openConversationId": target.id})
        return data.get("processQueryKey")

    async def batch_send(self, user_ids: list[str], msg_key: str, param: dict) -> list[str]:
        """One robot message to members' 1:1 chats, 20 a call; returns those DingTalk held back (flow control),
        to be sent again later. Unknown staff ids are a permanent error."""
        throttled: list[str] = []
        for start in range(0, len(user_ids), BATCH_USERS):
            chunk = user_ids[start:start + BATCH_USERS]
            data = await self.api.call("POST", "/v1.0/robot/oToMessages/batchSend", {
                "robotCode": self.robot_code, "userIds": chunk, "msgKey": msg_key,
                "msgParam": json.dumps(param, ensure_ascii=False)})
            if invalid := data.get("invalidStaffIdList"):
                raise SendError(f"dingtalk batchSend: unknown staff ids {invalid}", permanent=True)
            throttled += data.get("flowControlledStaffIdList") or []
        return throttled

    async def _send_card(self, target: Conversation, card: Card) -> str:
        if not reachable_by_api(target):
            # Interactive cards go only through the OpenAPI: an outsider's chat gets the card's state as markdown.
            title, text = render_markdown(card)
            await self._via_webhook(target, {"msgtype": "markdown", "markdown": {"title": title, "text": text}})
            return MARKDOWN_REF + uuid.uuid4().hex[:16]
        # Names this copy of the card: its updates and its presses (the callback's outTrackId) carry it.
        subject = f"{card.subject.kind.value[0]}{card.subject.id}" if card.subject else "c"
        biz_id = f"{subject}-{uuid.uuid4().hex[:20]}"
        body = {"cardTemplateId": TEMPLATE, "robotCode": self.robot_code, "cardBizId": biz_id,
                "cardData": card_data_json(card), "sendOptions": {}}
        if target.kind is ConversationKind.DM:
            body["singleChatReceiver"] = json.dumps({"userId": target.id})
        else:
            body["openConversationId"] = target.id
        await self.api.call("POST", "/v1.0/im/v1.0/robot/interactiveCards/send", body)
        return biz_id

    async def update(self, target: Conversation, message_ref: str, card: Card) -> str | None:
        """Update the card in place by its cardBizId (every copy has its own); a markdown copy stays as it is."""
        if not message_ref:
            return await self.post(target, card=card)
        if message_ref.startswith(MARKDOWN_REF):
            # A markdown message cannot be edited, and a fresh copy on every triage step would bury the answers:
            # what matters to an outsider (replies, resolution) reaches them as messages of its own.
            return message_ref
        self.app.take("app", 1)
        await self.api.call("PUT", "/v1.0/im/robots/interactiveCards",
                            {"cardBizId": message_ref, "cardData": card_data_json(card)})
        return message_ref

    async def close(self) -> None:
        """Close the HTTP session."""
        await self.api.close()
