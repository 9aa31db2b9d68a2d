"""Slack files in and out: a shared file's bytes from its url_private (with the bot token, only from Slack's
configured hosts), and a file into a conversation or thread with files upload v2."""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit

import aiohttp

from bot.attachments import Fetched, FileRefused, Refusal
from bot.events import FileRef

CHUNK = 64 * 1024
REDIRECTS = 3  # Slack may answer a download with a redirect to its own file host: followed while it stays there
TIMEOUT = aiohttp.ClientTimeout(total=120, sock_connect=10, sock_read=30)


def origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) of `url`, the port made explicit for http and https."""
    parts = urlsplit(url)
    port = parts.port or {"https": 443, "http": 80}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), port


async def download(url: str, *, token: str, allowed: set[tuple[str, str, int | None]], max_bytes: int) -> Fetched:
    """GET `url` with the bot token, only from an `allowed` origin (a URL a payload names anywhere else is never
    fetched, and the token never leaves Slack's hosts); FileRefused past `max_bytes`, checked before and while
    reading."""
    async with aiohttp.ClientSession(timeout=TIMEOUT) as session:
        for _ in range(REDIRECTS + 1):
            if not url or origin(url) not in allowed:
                raise FileRefused(Refusal.UNAVAILABLE, f"not one of Slack's configured hosts: {origin(url)[1]!r}")
            async with session.get(url, headers={"Authorization": f"Bearer {token}"}, allow_redirects=False) as response:
                if response.status in (301, 302, 303, 307, 308) and response.headers.get("Location"):
                    url = urljoin(url, response.headers["Location"])
                    continue
                if response.status != 200:
                    raise FileRefused(Refusal.UNAVAILABLE, f"slack answered {response.status}")
                mime = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
                if mime == "text/html":  # Slack's sign-in page: the token lacks files:read, or the file is gone
                    raise FileRefused(Refusal.UNAVAILABLE, "slack answered a page, not the file (files:read?)")
                if response.content_length is not None and response.content_length > max_bytes:
                    raise FileRefused(Refusal.TOO_LARGE, f"{response.content_length} bytes")
                data = bytearray()
                async for chunk in response.content.iter_chunked(CHUNK):
                    data += chunk
                    if len(data) > max_bytes:
                        raise FileRefused(Refusal.TOO_LARGE, f"over {max_bytes} bytes")
                return Fetched(bytes(data), mime or None)
    raise FileRefused(Refusal.UNAVAILABLE, "too many redirects")


def file_refs(event: dict) -> tuple[FileRef, ...]:
    """The files of a Slack message event as neutral descriptors (a file Slack hides, e.g. past a free workspace's
    limit, has no URL: its fetch is refused, and the sender told)."""
    refs = []
    for file in event.get("files") or []:
        if not isinstance(file, dict):
            continue
        size = file.get("size")
        refs.append(FileRef(name=str(file.get("name") or file.get("title") or "file"),
                            mime=str(file.get("mimetype") or "application/octet-stream"),
                            size=size if isinstance(size, int) else None,
                            ref=str(file.get("url_private_download") or file.get("url_private") or "")))
    return tuple(refs)
