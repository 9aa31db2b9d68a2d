"""WeCom files in and out, for the app chat and 微信客服 alike: a message's MediaId fetched with media/get from the
configured API base (never a PicUrl a payload names), and a file sent as an image or file message after
media/upload."""

from __future__ import annotations

import re

from bot.attachments import Fetched, FileRefused, Refusal
from bot.events import FileRef
from bot.platforms.wecom_api import ERRORS, WeComApi

CHUNK = 64 * 1024
# What a media message is called when WeCom gives no file name (app chat image/voice/video messages have none).
DEFAULT_NAMES = {"image": ("image.jpg", "image/jpeg"), "voice": ("voice.amr", "audio/amr"),
                 "video": ("video.mp4", "video/mp4"), "file": ("file", "application/octet-stream")}
# Kinds of message the bot cannot use: the sender is told what it takes (see handlers/attachments.unusable).
UNUSABLE = {"location": "location", "link": "link", "business_card": "contact", "miniprogram": "link",
            "channels": "link", "emotion": "sticker", "sticker": "sticker"}
_FILENAME = re.compile(r"""filename\*?=(?:UTF-8'')?"?([^";]+)"?""", re.IGNORECASE)
# WeCom takes JPG and PNG as image messages (media/upload type image); anything else goes as a file message.
IMAGE_TYPES = {"image/jpeg", "image/png"}


def media_ref(kind: str, media_id: str, *, name: str = "", size: int | None = None) -> FileRef:
    """The neutral descriptor of a WeCom media message: fetched again by its MediaId."""
    default_name, mime = DEFAULT_NAMES.get(kind, DEFAULT_NAMES["file"])
    return FileRef(name=name or default_name, mime=mime, size=size, ref=media_id)


async def fetch_media(api: WeComApi, media_id: str, *, max_bytes: int) -> Fetched:
    """media/get of a temporary media (3 days) on the configured API base; FileRefused when WeCom will not hand
    it over or it is larger than `max_bytes` (checked before and while reading)."""
    if not media_id or "/" in media_id or ":" in media_id:  # a media id, never a URL
        raise FileRefused(Refusal.UNAVAILABLE, f"not a media id: {media_id[:40]!r}")
    token = None
    for attempt in range(2):
        token = await api.access_token(rejected=token if attempt else None)
        session = await api.http()
        async with session.get(api.base_url + "media/get", params={"access_token": token, "media_id": media_id},
                               timeout=None) as response:
            mime = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
            if mime in ("application/json", "text/plain") or response.status != 200:
                answer = await response.json(content_type=None) if response.status == 200 else {}
                if ERRORS.is_token_error(answer.get("errcode")) and attempt == 0:
                    continue
                raise FileRefused(Refusal.UNAVAILABLE, f"media/get {response.status} {answer.get('errcode')}")
            if response.content_length is not None and response.content_length > max_bytes:
                raise FileRefused(Refusal.TOO_LARGE, f"{response.content_length} bytes")
            data = bytearray()
            async for chunk in response.content.iter_chunked(CHUNK):
                data += chunk
                if len(data) > max_bytes:
                    raise FileRefused(Refusal.TOO_LARGE, f"over {max_bytes} bytes")
            found = _FILENAME.search(response.headers.get("Content-Disposition", ""))
            return Fetched(bytes(data), mime or None, found.group(1) if found else None)
    raise FileRefused(Refusal.UNAVAILABLE, "media/get: access token rejected twice")


async def upload_message(api: WeComApi, *, name: str, mime: str, data: bytes) -> dict:
    """media/upload the file; returns the message fields that send it ({"msgtype": "image", "image": {…}})."""
    kind = "image" if mime in IMAGE_TYPES else "file"
    media_id = await api.upload(kind, data=data, filename=name, content_type=mime)
    return {"msgtype": kind, kind: {"media_id": media_id}}
