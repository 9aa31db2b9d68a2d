"""SlackMessenger: posts, updates and uploads through the real slack-sdk client (base URL configurable).

Every post carries its outbox row's id in the message's metadata, so that after a crash between a send and its
"sent" mark the dispatcher can ask (`find_sent`) instead of posting the message twice. A text longer than Slack
takes goes as several posts, each tagged with its part number: a retry posts only the parts Slack does not have.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.web.async_client import AsyncWebClient

from bot.attachments import Fetched
from bot.events import Conversation, ConversationKind, FileRef, Platform
from bot.platforms.slack_files import download, origin
from bot.ports import Found, Pacing, PacingDelay, SendError
from bot.text import split_text
from cards.model import Card, Image
from cards.slack import fallback_text, render_blocks

# Errors that say "this will never work" (a channel gone, the bot removed, a message deleted): no retry.
PERMANENT = {"channel_not_found", "not_in_channel", "is_archived", "invalid_auth", "account_inactive",
             "token_revoked", "user_not_found", "message_not_found", "cant_update_message", "file_not_found",
             "cannot_dm_bot", "restricted_action",
             # …nor will the same message sent again: too long, blocks or arguments Slack refuses (chat.postMessage
             # and chat.update errors; invalid_blocks answers e.g. a section text over 3,000 characters).
             "msg_too_long", "msg_blocks_too_long", "no_text", "too_many_attachments", "invalid_blocks",
             "invalid_blocks_format", "invalid_attachments", "invalid_arguments", "invalid_arg_name",
             "invalid_array_arg", "invalid_charset", "invalid_form_data", "invalid_post_type", "missing_post_type",
             "invalid_json", "json_not_object", "invalid_metadata_format", "invalid_metadata_schema",
             "metadata_too_large", "metadata_must_be_sent_from_app"}
# Errors of a history lookup that say "this app cannot look here" (no history scope): it sends at least once instead.
CANNOT_LOOK = PERMANENT | {"missing_scope", "not_allowed_token_type", "thread_not_found", "no_permission"}
METADATA_EVENT = "ticketbot_outbox"  # the event_type of the metadata our posts carry
LOOKUP_PAGES, LOOKUP_PAGE_SIZE = 5, 200  # how far back a lookup reads: the newest 1,000 messages at most
# Slack scans an upload before its blocks may show it (files.info gains a mimetype then): wait this long at most.
FILE_READY_WAITS = (0.1, 0.2, 0.4, 0.8, 1.6)
# A message's `text` is truncated beyond 40,000 characters, and Slack asks apps to split long texts and keep each
# under about 4,000 for readability (api.slack.com/changelog/2018-04-truncating-really-long-messages): longer texts
# go as several messages of at most this many characters, cut at line boundaries.
TEXT_LIMIT = 3_900


class SlackMessenger:
    """chat.postMessage / postEphemeral / update, and files.uploadV2 for a card's image."""

    platform = Platform.SLACK
    pacing = Pacing(per_conversation=1.0)  # Slack allows about one message per second per channel

    def __init__(self, client: AsyncWebClient, *, files_base_url: str = "https://files.slack.com/"):
        self.client = client
        self._dm_channels: dict[str, str] = {}
        self.stopped: str | None = None  # why nothing is sent any more (the app uninstalled, its token revoked)
        # Files are fetched only from Slack's own hosts: the API's and the files host (both configurable).
        self.file_origins = {origin(client.base_url), origin(files_base_url)}

    def stop(self, reason: str) -> None:
        """Send nothing more: every later message fails at once, permanently, with `reason`."""
        self.stopped = reason

    async def fetch_file(self, file: FileRef, *, max_bytes: int) -> Fetched:
        """A shared file's bytes from its url_private, with the bot token (the app needs files:read)."""
        return await download(file.ref, token=self.client.token or "", allowed=self.file_origins, max_bytes=max_bytes)

    async def send_file(self, target: Conversation, *, name: str, mime: str, data: bytes,
                        attachment_id: int | None = None) -> str | None:
        """files upload v2 into the conversation (its thread when given); returns the file's id."""
        channel = await self._channel(target)
        extra = {"thread_ts": target.thread_id} if target.thread_id else {}
        response = await self._call(self.client.files_upload_v2, content=data, filename=name, title=name,
                                    channel=channel, **extra)
        return (response.get("file") or {}).get("id")

    async def _channel(self, target: Conversation) -> str:
        """A DM addressed by user id is opened first (conversations.open), then cached."""
        if target.kind is not ConversationKind.DM or target.id[:1] == "D":
            return target.id
        if target.id not in self._dm_channels:
            response = await self._call(self.client.conversations_open, users=target.id)
            self._dm_channels[target.id] = response["channel"]["id"]
        return self._dm_channels[target.id]

    async def _call(self, method, permanent: set[str] = PERMANENT, **kwargs):
        if self.stopped is not None:  # Slack would answer token_revoked / account_inactive: no call, no retry
            raise SendError(f"slack: not sent, {self.stopped}", permanent=True)
        try:
            return await method(**kwargs)
        except SlackApiError as exc:
            status = exc.response.status_code
            error = exc.response.get("error") if hasattr(exc.response, "get") else str(exc)
            if status == 429:
                retry_after = float(exc.response.headers.get("Retry-After", exc.response.headers.get("retry-after", 1)))
                # Not a failure of the message: wait as Slack says, without spending one of its attempts.
                raise PacingDelay(f"slack rate limited: {error}", retry_after=retry_after) from None
            raise SendError(f"slack {error}", permanent=error in permanent) from None
        except SlackRequestError as exc:  # e.g. the upload step of files.uploadV2 did not answer 200
            raise SendError(f"slack request failed: {exc}") from None

    async def post(self, target: Conversation, *, text: str | None = None, card: Card | None = None,
                   ephemeral_user: str | None = None, outbox_id: int | None = None,
                   found: Found | None = None) -> str | None:
        """chat.postMessage (or chat.postEphemeral); returns the message's ts (a long text's: its first part's).

        `outbox_id` goes into each post's metadata, with the part's number when a long text goes in several;
        `found` (a lookup's result) names the parts Slack has already: only the others are posted.
        """
        channel = await self._channel(target)
        base: dict = {"channel": channel}
        if target.thread_id:
            base["thread_ts"] = target.thread_id
        if card is not None:
            return await self._post_one({**base, "text": fallback_text(card), "blocks": render_blocks(card)},
                                        ephemeral_user, _metadata(outbox_id, ephemeral_user))
        parts = split_text(text or "", TEXT_LIMIT)
        if found is not None and found.of != len(parts):
            found = None  # cut differently when it went (another limit): sent whole again rather than garbled
        first = found.ref if found is not None and 1 in found.parts else None
        sent = False
        for number, part in enumerate(parts, 1):
            if found is not None and number in found.parts:
                continue
            if sent and self.pacing.per_conversation:
                await asyncio.sleep(self.pacing.per_conversation)  # the parts keep the channel's pace too
            metadata = _metadata(outbox_id, ephemeral_user, number, len(parts))
            try:
                ts = await self._post_one({**base, "text": part}, ephemeral_user, metadata)
            except SendError as exc:
                # What went before this part is in the channel: a retry looks it up instead of posting it again.
                exc.sent_some = sent or (found is not None)
                raise
            first, sent = first or ts, True
        return first

    async def _post_one(self, payload: dict, ephemeral_user: str | None, metadata: dict | None) -> str | None:
        if ephemeral_user:
            response = await self._call(self.client.chat_postEphemeral, user=ephemeral_user, **payload)
            return response.get("message_ts")
        if metadata is not None:
            payload["metadata"] = metadata
        response = await self._call(self.client.chat_postMessage, **payload)
        return response["ts"]

    async def find_sent(self, target: Conversation, outbox_id: int, *, since: datetime | None = None) -> Found | None:
        """Which of our messages for outbox row `outbox_id` are among the recent ones of the channel or thread."""
        channel = await self._channel(target)
        args: dict = {"channel": channel, "include_all_metadata": True, "limit": LOOKUP_PAGE_SIZE}
        if since is not None:
            args["oldest"] = f"{since.timestamp():.6f}"
        if target.thread_id:
            method, args["ts"] = self.client.conversations_replies, target.thread_id
        else:
            method = self.client.conversations_history
        parts: dict[int, str] = {}  # part number → its ts
        of = 1
        for _ in range(LOOKUP_PAGES):
            response = await self._call(method, permanent=CANNOT_LOOK, **args)
            for message in response.get("messages") or []:
                metadata = message.get("metadata") or {}
                payload = metadata.get("event_payload") or {}
                if metadata.get("event_type") == METADATA_EVENT and str(payload.get("outbox_id")) == str(outbox_id):
                    parts[int(payload.get("part", 1))] = message.get("ts")
                    of = int(payload.get("parts", 1))
            found = _found(parts, of)
            cursor = (response.get("response_metadata") or {}).get("next_cursor")
            if (found is not None and found.whole) or not response.get("has_more") or not cursor:
                return found
            args["cursor"] = cursor
        return _found(parts, of)

    async def update(self, target: Conversation, message_ref: str, card: Card) -> str | None:
        """chat.update of a card in place."""
        channel = await self._channel(target)
        await self._call(self.client.chat_update, channel=channel, ts=message_ref, text=fallback_text(card),
                         blocks=render_blocks(card))
        return message_ref

    async def upload_image(self, target: Conversation, image: Image) -> str:
        """files.uploadV2 without sharing it anywhere (the card shows it); returns the file id for `slack_file`."""
        if not image.data:
            raise SendError("slack upload: an image without data", permanent=True)
        response = await self._call(self.client.files_upload_v2, content=image.data, filename=image.filename,
                                    alt_txt=image.alt or None)
        file_id = response["file"]["id"]
        # Uploads finish asynchronously: a block naming the file before Slack has scanned it is refused.
        for wait in FILE_READY_WAITS:
            info = await self._call(self.client.files_info, file=file_id)
            if (info.get("file") or {}).get("mimetype"):
                return file_id
            await asyncio.sleep(wait)
        raise SendError(f"slack upload: file {file_id} not ready yet")


def _metadata(outbox_id: int | None, ephemeral_user: str | None, part: int = 1, parts: int = 1) -> dict | None:
    """The metadata a post carries to be found again: its outbox row, and which part of how many it is."""
    if outbox_id is None or ephemeral_user:  # an ephemeral message leaves no history to look in
        return None
    payload: dict = {"outbox_id": outbox_id}
    if parts > 1:
        payload.update(part=part, parts=parts)
    return {"event_type": METADATA_EVENT, "event_payload": payload}


def _found(parts: dict[int, str], of: int) -> Found | None:
    """What a lookup found: the ts of the first part found, which parts, of how many; None for nothing."""
    if not parts:
        return None
    return Found(ref=parts[min(parts)], parts=frozenset(parts), of=of)
