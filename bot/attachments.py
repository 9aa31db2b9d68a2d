"""Attachments: the pictures and files that come with messages, kept with their ticket.

The limits (from the config), safe names, the record, and the ports: the content store (the bytes, by sha256: the
database by default, an S3-compatible store as an option) and the attachment records are storage's; fetching a
file by its platform reference and sending one are the platforms' (their messengers)."""

from __future__ import annotations

import fnmatch
import hashlib
import posixpath
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from bot.events import Actor, Conversation, FileRef, Platform

MB = 1024 * 1024
# What a helpdesk is sent: screenshots, recordings, voice notes, documents, logs, archives of them. Not HTML or
# scripts: whatever is taken is served back only as a download, but there is no reason to keep them.
DEFAULT_TYPES = ["image/*", "video/*", "audio/*", "text/plain", "text/csv", "application/pdf", "application/zip",
                 "application/x-zip-compressed", "application/gzip", "application/json", "application/msword",
                 "application/vnd.ms-excel", "application/vnd.ms-powerpoint",
                 "application/vnd.openxmlformats-officedocument.*", "application/octet-stream"]


class AttachmentLimits(BaseModel):
    """`attachments:` in the YAML config: how large, how many per message, which types (glob patterns)."""

    model_config = ConfigDict(extra="forbid")

    max_bytes: int = Field(default=20 * MB, gt=0)
    max_files: int = Field(default=10, gt=0)
    types: list[str] = Field(default_factory=lambda: list(DEFAULT_TYPES))

    def allows(self, mime: str) -> bool:
        """True when `mime` (parameters ignored) matches one of the allowed type patterns."""
        bare = mime.split(";")[0].strip().lower()
        return any(fnmatch.fnmatchcase(bare, pattern.lower()) for pattern in self.types)


class Refusal(StrEnum):
    """Why a file was not taken (the sender is told, in their language; the rest of the message still lands)."""

    TOO_LARGE = "too_large"
    NOT_ALLOWED = "not_allowed"  # a type the config does not take
    TOO_MANY = "too_many"  # past max_files in one message
    UNAVAILABLE = "unavailable"  # the platform would not hand it over (gone, expired, or not from its own host)


class FileRefused(Exception):
    """A fetch refused: `reason` for the sender, `detail` for the log."""

    def __init__(self, reason: Refusal, detail: str = ""):
        super().__init__(f"{reason.value}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class Fetched:
    """A file's bytes as the platform handed them over, with the type and name it gave (when it did)."""

    data: bytes
    mime: str | None = None
    name: str | None = None


@runtime_checkable
class FileFetcher(Protocol):
    """A platform's side of taking a file in: its bytes by its reference, never more than `max_bytes` read."""

    async def fetch_file(self, file: FileRef, *, max_bytes: int) -> Fetched:
        """The file's bytes; FileRefused when it is larger, gone, or its reference points off the platform."""
        ...


@runtime_checkable
class FileSender(Protocol):
    """A platform's side of sending a file (an image shows as one where the platform can)."""

    async def send_file(self, target: Conversation, *, name: str, mime: str, data: bytes,
                        attachment_id: int | None = None) -> str | None:
        """Post the file to `target` (`attachment_id`: the record, for a platform that links to it rather than
        carrying the bytes); returns the platform's reference to the message, if any."""
        ...


class AttachmentDesk(Protocol):
    """What an adapter may ask of the core about files beyond its platform's API (the console, whose uploads
    arrive in its own requests and whose page fetches attachments from the bot)."""

    async def keep(self, data: bytes) -> str:
        """Keep an upload the adapter received itself; returns the reference its FileRef carries."""
        ...

    async def kept(self, ref: str) -> bytes | None:
        """The bytes of an upload kept under `ref`, or None."""
        ...

    async def readable(self, attachment_id: int, actor: Actor) -> tuple[Attachment, bytes] | None:
        """The attachment and its bytes when `actor` may see it (staff who may see its ticket, the customer their
        own ticket's public ones), else None."""
        ...


@dataclass(frozen=True)
class Stored:
    """A file taken in: its bytes in the content store under `sha256`, not yet on a ticket."""

    name: str
    mime: str
    size: int
    sha256: str


@dataclass(frozen=True)
class Attachment:
    """A file on a ticket's timeline: which entry it came with, who sent it, and whether the customer may see it."""

    id: int
    ticket_id: int
    entry_id: int | None
    name: str
    mime: str
    size: int
    sha256: str
    actor: str
    platform: Platform
    public: bool
    at: datetime


class ContentStore(Protocol):
    """Where attachments' bytes live, by their sha256 (the same bytes are kept once)."""

    async def put(self, sha256: str, data: bytes) -> None:
        """Keep `data` under its digest (nothing happens when it is there already)."""
        ...

    async def get(self, sha256: str) -> bytes | None:
        """The bytes kept under `sha256`, or None."""
        ...


class AttachmentRecords(Protocol):
    """The attachment records of a transaction (`uow.attachments`)."""

    async def add_attachments(self, *, ticket_id: int, entry_kind: str, files: Sequence[Stored], actor: str,
                              platform: Platform, public: bool, at: datetime) -> list[Attachment]:
        """Put `files` on the ticket, joined to its latest timeline entry of `entry_kind`; returns those added (a
        file already on the ticket — a redelivery — is not added twice)."""
        ...

    async def attachments_of(self, ticket_id: int, *, public_only: bool = False) -> list[Attachment]:
        """The ticket's attachments, oldest first (numbered from 1 in this order)."""
        ...

    async def get_attachments(self, ids: Sequence[int]) -> dict[int, Attachment]:
        """Several attachments by id (missing ones are absent)."""
        ...


def digest(data: bytes) -> str:
    """The sha256 of `data`, in hex: the content store's key."""
    return hashlib.sha256(data).hexdigest()


_UNSAFE = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*]')


def safe_name(name: str | None, *, fallback: str = "file") -> str:
    """A file name fit to store and to offer as a download: no path, no control or reserved characters, no leading
    dots, at most 120 characters (the extension kept)."""
    base = posixpath.basename((name or "").replace("\\", "/"))
    base = unicodedata.normalize("NFC", _UNSAFE.sub("_", base)).strip().lstrip(".").strip()
    if not base:
        return fallback
    stem, dot, ext = base.rpartition(".")
    if len(base) > 120:
        base = (stem[: 120 - len(ext) - 1] + "." + ext) if dot and len(ext) <= 10 else base[:120]
    return base


def human_size(size: int) -> str:
    """1234567 → '1.2 MB' (bytes, KB and MB as people read them)."""
    if size < 1024:
        return f"{size} B"
    if size < MB:
        return f"{size / 1024:.0f} KB"
    return f"{size / MB:.1f} MB"


@dataclass(frozen=True)
class Taken:
    """What came of a message's files: those stored, and those refused with why."""

    stored: list[Stored]
    refused: list[tuple[FileRef, Refusal]]


@dataclass
class Files:
    """The attachments service the handlers use: limits, the content store, and each platform's fetcher."""

    content: ContentStore
    limits: AttachmentLimits
    fetchers: Mapping[Platform, object]  # the messengers: one that is a FileFetcher can fetch

    async def take(self, platform: Platform, files: Sequence[FileRef]) -> Taken:
        """Fetch, check and store each file (within the limits); refusals say why, the rest goes on."""
        stored: list[Stored] = []
        refused: list[tuple[FileRef, Refusal]] = []
        fetcher = self.fetchers.get(platform)
        for n, file in enumerate(files):
            if n >= self.limits.max_files:
                refused.append((file, Refusal.TOO_MANY))
                continue
            if file.size is not None and file.size > self.limits.max_bytes:  # refused before a byte is read
                refused.append((file, Refusal.TOO_LARGE))
                continue
            if not self.limits.allows(file.mime):
                refused.append((file, Refusal.NOT_ALLOWED))
                continue
            if not isinstance(fetcher, FileFetcher):
                refused.append((file, Refusal.UNAVAILABLE))
                continue
            try:
                fetched = await fetcher.fetch_file(file, max_bytes=self.limits.max_bytes)
            except FileRefused as exc:
                refused.append((file, exc.reason))
                continue
            mime = (fetched.mime or file.mime or "application/octet-stream").split(";")[0].strip().lower()
            if not self.limits.allows(mime):
                refused.append((file, Refusal.NOT_ALLOWED))
                continue
            if len(fetched.data) > self.limits.max_bytes:
                refused.append((file, Refusal.TOO_LARGE))
                continue
            sha = digest(fetched.data)
            await self.content.put(sha, fetched.data)
            stored.append(Stored(name=safe_name(file.name or fetched.name), mime=mime, size=len(fetched.data),
                                 sha256=sha))
        return Taken(stored, refused)
