"""WeComMessenger: app messages and template cards to members, text to app group chats, paced per member.

A text longer than WeCom takes (2,048 bytes) goes as several messages, cut at line boundaries, in order.

Conversations whose id carries a route prefix (e.g. 微信客服 customers, the 智能机器人 in group chats) are
handed to the sender registered for that prefix, so each WeCom surface keeps its own module.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Protocol

from bot.attachments import Fetched
from bot.events import Conversation, ConversationKind, FileRef, Platform
from bot.platforms.common import WindowPacer, send_parts
from bot.platforms.wecom_api import RATE_LIMITED, WeComApi, WeComApiError, text_parts
from bot.platforms.wecom_files import fetch_media, upload_message
from bot.ports import Pacing, SendError
from cards.model import Card, Image
from cards.wecom import EXPANDED, can_expand, overflow_text, render_template_card, render_text

# WeCom silently drops more than 30 app messages a minute to one member: keep under it ourselves.
MEMBER_LIMIT, MEMBER_WINDOW = 30, 60.0
OVERFLOW_PARTS = 2  # a digest's lists fit in one message; a second takes what a long title list leaves over


class ConversationSender(Protocol):
    """Sends to the conversations of one WeCom surface (ids starting with its prefix)."""

    async def post(self, target: Conversation, *, text=None, card=None, ephemeral_user=None) -> str | None: ...

    async def update(self, target: Conversation, message_ref: str, card) -> str | None: ...


def card_ref(task_id: str, response_code: str, member: str, *, expanded: bool = False) -> str:
    """A member's card: 'task_id|response_code|member[|more]'. The task id names the card; the code updates it
    once; 'more' when it shows all its choices (see cards.wecom)."""
    return f"{task_id}|{response_code}|{member}" + (f"|{EXPANDED}" if expanded else "")


def parse_card_ref(ref: str) -> tuple[str, str, str, bool]:
    """(task_id, response_code, member, expanded) of a card reference ('' for missing parts)."""
    task_id, code, member, *layout = ref.split("|") + ["", ""][: max(0, 3 - len(ref.split("|")))]
    return task_id, code, member, layout == [EXPANDED]


class MemberPacer(WindowPacer):
    """WeCom's window per member: at most MEMBER_LIMIT sends in MEMBER_WINDOW seconds."""

    def __init__(self, *, limit: int = MEMBER_LIMIT, window: float = MEMBER_WINDOW,
                 monotonic: Callable[[], float] = time.monotonic):
        super().__init__(limit=limit, window=window, label="wecom", monotonic=monotonic)


class WeComMessenger:
    """message/send and update_template_card to members; appchat/send to app group chats."""

    platform = Platform.WECOM
    # WeCom counts per member per minute, not per gap: MemberPacer keeps that window by raising PacingDelay.
    pacing = Pacing()

    def __init__(self, *, api: WeComApi, agent_id: int, pacer: MemberPacer | None = None):
        self.api = api
        self.agent_id = agent_id
        self.pacer = pacer or MemberPacer()
        self.routes: dict[str, ConversationSender] = {}

    def route(self, prefix: str, sender: ConversationSender) -> None:
        """Send to conversations whose id starts with `prefix` through `sender`."""
        self.routes[prefix] = sender

    def _routed(self, target: Conversation) -> ConversationSender | None:
        return next((sender for prefix, sender in self.routes.items() if target.id.startswith(prefix)), None)

    async def fetch_file(self, file: FileRef, *, max_bytes: int) -> Fetched:
        """A media message's bytes by its MediaId (media/get, app chat and 微信客服 alike)."""
        return await fetch_media(self.api, file.ref, max_bytes=max_bytes)

    async def send_file(self, target: Conversation, *, name: str, mime: str, data: bytes,
                        attachment_id: int | None = None) -> str | None:
        """media/upload, then an image (JPG, PNG) or file message to the member, group chat or routed surface."""
        sender = self._routed(target)
        if sender is not None and not hasattr(sender, "send_media"):  # e.g. the 智能机器人's group replies
            raise SendError(f"wecom: files cannot be sent to {target.id.split(':')[0]} conversations", permanent=True)
        message = await upload_message(self.api, name=name, mime=mime, data=data)
        if sender is not None:
            return await sender.send_media(target, message)
        if target.kind is not ConversationKind.DM:
            await self.api.call("appchat/send", {"chatid": target.id, **message})
            return None
        self.pacer.take(target.id)
        answer = await self.api.call("message/send", {"touser": target.id, "agentid": self.agent_id, **message})
        return answer.get("msgid")

    async def upload_image(self, target: Conversation, image: Image) -> str:
        """media/upload (type image) of the card's picture; returns the media_id its image message sends."""
        if not image.data:
            raise SendError("wecom upload: an image without data", permanent=True)
        return await self.api.upload("image", data=image.data, filename=image.filename, content_type="image/png")

    async def post(self, target: Conversation, *, text: str | None = None, card: Card | None = None,
                   ephemeral_user: str | None = None) -> str | None:
        """Text or a template card to a member; text (cards as text) to an app group chat."""
        if (sender := self._routed(target)) is not None:
            return await sender.post(target, text=text, card=card, ephemeral_user=ephemeral_user)
        if target.kind is not ConversationKind.DM:
            # A long text (or card as text) goes as several messages, in order, each within WeCom's limit.
            for part in text_parts((text if card is None else render_text(card)) or "", most=MEMBER_LIMIT):
                await self.api.call("appchat/send", {"chatid": target.id, "msgtype": "text", "text": {"content": part}})
            if card is not None and (media_id := _image_ref(card)):
                await self.api.call("appchat/send", {"chatid": target.id, "msgtype": "image",
                                                     "image": {"media_id": media_id}})
            return None
        member = ephemeral_user or target.id
        if card is not None:
            # A card with a picture or more than it shows is several messages: all fit in the window, or none yet.
            self.pacer.take(member, 1 + bool(_image_ref(card)) + len(_overflow_parts(card)))
            return await self._send_card(member, card, first_send=True)
        # At most a minute's worth of parts (more would be dropped by WeCom), all in the window or none yet.
        parts = text_parts(text or "", most=MEMBER_LIMIT)
        self.pacer.take(member, len(parts))

        async def send(part: str) -> str | None:
            data = await self.api.call("message/send", {"touser": member, "msgtype": "text",
                                                        "agentid": self.agent_id, "text": {"content": part}})
            return data.get("msgid")
        # WeCom cannot be asked what went: after a failure past the first part, a retry sends them again.
        return await send_parts(parts, send)

    async def _send_card(self, member: str, card: Card, *, expanded: bool = False, first_send: bool = False) -> str:
        # Unique per card sent: WeCom refuses a task id it has seen before, and clicks name it.
        subject = f"{card.subject.kind.value[0]}{card.subject.id}" if card.subject else "t0"
        task_id = f"{subject}-{uuid.uuid4().hex[:16]}"
        template = render_template_card(card, task_id=task_id, expanded=expanded)
        data = await self.api.call("message/send", {"touser": member, "msgtype": "template_card",
                                                    "agentid": self.agent_id, "template_card": template})
        if first_send and (media_id := _image_ref(card)):
            # template_card shows only pictures at public URLs: the uploaded one follows as an image message.
            await self.api.call("message/send", {"touser": member, "msgtype": "image", "agentid": self.agent_id,
                                                 "image": {"media_id": media_id}})
        if first_send:
            # A first send only: an update changes the card, and the words under it were already said.
            for part in _overflow_parts(card):
                await self.api.call("message/send", {"touser": member, "msgtype": "text", "agentid": self.agent_id,
                                                     "text": {"content": part}})
        return card_ref(task_id, data.get("response_code", ""), member, expanded=expanded)

    async def update(self, target: Conversation, message_ref: str, card: Card) -> str | None:
        """update_template_card with the card's unused response code; once spent or expired, send a fresh card."""
        if (sender := self._routed(target)) is not None:
            return await sender.update(target, message_ref, card)
        task_id, code, member, expanded = parse_card_ref(message_ref)
        member = member or target.id
        expanded = expanded and can_expand(card)
        if target.kind is not ConversationKind.DM:
            return await self.post(target, card=card)
        if not code and not card.actions:
            # A card without controls goes as a text_notice, which no click ever hands an update code: its
            # "refresh" would be a new message with the same ticket (a customer's copy on every priority or
            # category change). Its reader is told what is meant for them in words (replies, waiting, resolution).
            return message_ref
        self.pacer.take(member)
        if code:
            template = render_template_card(card, task_id=task_id, expanded=expanded)
            try:
                await self.api.call("message/update_template_card", {
                    "userids": [member], "agentid": self.agent_id, "response_code": code, "template_card": template})
                # The code is used up; a click on the card brings a new one.
                return card_ref(task_id, "", member, expanded=expanded)
            except WeComApiError as exc:
                # The code is spent or expired (40187/40188), or WeCom would not change this card in place (e.g.
                # into another card type): a fresh card is always right. Only its rate limit says "later".
                if exc.code == RATE_LIMITED:
                    raise
        return await self._send_card(member, card, expanded=expanded)

    async def close(self) -> None:
        """Close the HTTP session."""
        await self.api.close()


def _overflow_parts(card: Card) -> list[str]:
    """The text messages carrying what the template card cannot show (see cards.wecom.overflow_text)."""
    text = overflow_text(card)
    return text_parts(text, most=OVERFLOW_PARTS) if text else []


def _image_ref(card: Card) -> str | None:
    """The media_id of the card's uploaded picture, if it has one."""
    return card.image.ref if card.image is not None and card.image.ref else None
