"""DingTalk files in and out: a message's downloadCode exchanged for a download URL by the robot OpenAPI
(messageFiles/download on the configured base, never a URL a payload names) and read within the size limit; a
file sent as a picture or file message after media upload."""

from __future__ import annotations

import json
import os

from bot.attachments import Fetched, FileRefused, Refusal
from bot.events import FileRef
from bot.platforms.dingtalk_api import DingTalkApi, DingTalkApiError

CHUNK = 64 * 1024
# What a file is called when DingTalk gives no name (pictures, audio and video messages have none).
DEFAULT_NAMES = {"picture": ("image.png", "image/png"), "video": ("video.mp4", "video/mp4"),
                 "audio": ("voice.amr", "audio/amr"), "file": ("file", "application/octet-stream")}
IMAGE_TYPES = {"image/jpeg", "image/png", "image/gif", "image/bmp"}  # sent as pictures; the rest as files


def download_ref(kind: str, code: str, *, name: str = "") -> FileRef:
    """The neutral descriptor of a file a message carries, fetched later by its downloadCode."""
    default_name, mime = DEFAULT_NAMES.get(kind, DEFAULT_NAMES["file"])
    return FileRef(name=name or default_name, mime=mime, ref=code)


async def fetch_download(api: DingTalkApi, robot_code: str, code: str, *, max_bytes: int) -> Fetched:
    """The bytes behind a downloadCode; FileRefused when DingTalk will not hand them over or they are larger than
    `max_bytes` (checked before and while reading)."""
    try:
        answer = await api.call("POST", "/v1.0/robot/messageFiles/download",
                                {"downloadCode": code, "robotCode": robot_code})
    except DingTalkApiError as exc:
        raise FileRefused(Refusal.UNAVAILABLE, str(exc)) from None
    url = answer.get("downloadUrl")
    if not isinstance(url, str) or not url.startswith(("https://", "http://")):
        raise FileRefused(Refusal.UNAVAILABLE, "messageFiles/download gave no URL")
    session = await api.http()
    async with session.get(url, timeout=None) as response:
        if response.status != 200:
            raise FileRefused(Refusal.UNAVAILABLE, f"download {response.status}")
        if response.content_length is not None and response.content_length > max_bytes:
            raise FileRefused(Refusal.TOO_LARGE, f"{response.content_length} bytes")
        data = bytearray()
        async for chunk in response.content.iter_chunked(CHUNK):
            data += chunk
            if len(data) > max_bytes:
                raise FileRefused(Refusal.TOO_LARGE, f"over {max_bytes} bytes")
        mime = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
        return Fetched(bytes(data), mime or None, None)


async def upload_message(api: DingTalkApi, *, name: str, mime: str, data: bytes) -> tuple[str, dict]:
    """Upload the file; (msgKey, msgParam) of the robot message that shows it."""
    if mime in IMAGE_TYPES:
        media_id = await api.upload("image", data=data, filename=name, content_type=mime)
        return "sampleImageMsg", {"photoURL": media_id}
    media_id = await api.upload("file", data=data, filename=name, content_type=mime)
    extension = os.path.splitext(name)[1].lstrip(".").lower() or "file"
    return "sampleFile", {"mediaId": media_id, "fileName": name, "fileType": extension}


def param_json(param: dict) -> str:
    """msgParam as DingTalk takes it: a JSON string."""
    return json.dumps(param, ensure_ascii=False)
