"""Plumbing every platform adapter may share (platforms never import each other; they may all import this).

An access-token cache and the API client built on it, a sliding-window pacer, a platform's error codes mapped to SendError / PacingDelay, and a
long text sent in parts of at most N bytes.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

import aiohttp

from bot.ports import PacingDelay, SendError
from bot.text import fit_text, split_text, utf8_size

T = TypeVar("T")
# Renew a token this long before it expires rather than fail one call at the edge of expiry.
TOKEN_MARGIN = 300.0


class TokenCache:
    """One access token, fetched by `fetch` (→ token, lifetime in seconds), kept until shortly before it expires
    or until the platform rejects it; one fetch at a time (the outbox sends concurrently, and fetches count
    against a quota)."""

    def __init__(self, fetch: Callable[[], Awaitable[tuple[str, float]]], *, margin: float = TOKEN_MARGIN,
                 monotonic: Callable[[], float] = time.monotonic):
        self.fetch, self.margin, self.monotonic = fetch, margin, monotonic
        self._token: tuple[str, float] | None = None
        self._lock = asyncio.Lock()

    async def get(self, *, rejected: str | None = None) -> str:
        """The cached token (fetched again when expired, or when the platform said `rejected` is invalid)."""
        async with self._lock:
            stale = rejected is not None and self._token is not None and self._token[0] == rejected
            if stale or self._token is None or self._token[1] <= self.monotonic():
                token, lifetime = await self.fetch()
                self._token = (token, self.monotonic() + float(lifetime) - self.margin)
            return self._token[0]


# What an attempt answers when the platform refused its token: TokenClient fetches a new one and tries once more.
TOKEN_REFUSED = object()


class TokenClient:
    """An API client: one HTTP session, a cached access token, and a call tried once more when the token is refused.

    A platform's client names itself (`platform`) and says how a token is fetched (`_fetch_token`)."""

    platform = "api"

    def __init__(self, session: aiohttp.ClientSession | None = None):
        self._session = session
        self._token = TokenCache(self._fetch_token)

    async def _fetch_token(self) -> tuple[str, float]:
        raise NotImplementedError

    async def http(self) -> aiohttp.ClientSession:
        """The shared HTTP session (created on first use, inside the running loop)."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        return self._session

    async def access_token(self, *, rejected: str | None = None) -> str:
        """The cached access token (fetched again when expired, or when the platform said `rejected` is invalid)."""
        return await self._token.get(rejected=rejected)

    async def with_token(self, path: str, attempt: Callable[[aiohttp.ClientSession, str], Awaitable[T]]) -> T:
        """`attempt(session, token)`, once more with a fresh token when it answers TOKEN_REFUSED."""
        token = None
        for tries in range(2):
            token = await self.access_token(rejected=token if tries else None)
            result = await attempt(await self.http(), token)
            if result is not TOKEN_REFUSED:
                return result
        raise SendError(f"{self.platform} {path}: access token rejected twice")

    async def close(self) -> None:
        """Close the HTTP session."""
        if self._session is not None:
            await self._session.close()


class WindowPacer:
    """A sliding window per key (a member, a group, the app): at most `limit` sends in `window` seconds."""

    def __init__(self, *, limit: int, window: float, label: str = "",
                 monotonic: Callable[[], float] = time.monotonic):
        self.limit, self.window, self.label, self.monotonic = limit, window, label, monotonic
        self._sent: dict[str, deque[float]] = {}

    def take(self, key: str, count: int = 1) -> None:
        """Count `count` sends to `key`, or raise PacingDelay saying when the window has room for them."""
        now = self.monotonic()
        sent = self._sent.setdefault(key, deque())
        while sent and sent[0] <= now - self.window:
            sent.popleft()
        count = min(count, self.limit)
        if len(sent) + count > self.limit:
            # Room for `count` once that many of the oldest have left the window.
            free_at = sent[len(sent) + count - self.limit - 1]
            raise PacingDelay(f"{self.label}: {self.limit} messages in {self.window:g} s to {key}",
                              retry_after=free_at + self.window - now)
        sent.extend([now] * count)


class ApiError(SendError):
    """A platform API answered an error code; `platform` names it in the message."""

    platform = "api"

    def __init__(self, path: str, code: object, message: str, **kw):
        super().__init__(f"{self.platform} {path} {code}: {message}", **kw)
        self.code = code


class ApiThrottled(PacingDelay):
    """A platform API said "too fast": wait, without spending an attempt."""

    def __init__(self, platform: str, path: str, code: object, *, retry_after: float):
        super().__init__(f"{platform} {path} {code}: rate limited", retry_after=retry_after)
        self.code = code


@dataclass(frozen=True)
class ErrorCodes:
    """What a platform's error codes mean to the outbox: fetch a token again, wait, give up, or retry later."""

    token: Collection[object] = frozenset()  # the token is invalid or expired: fetch a new one, try once more
    permanent: Collection[object] = frozenset()  # the same call would fail again: give up
    # Rate limits, code → seconds to wait; `throttle_is_pacing` makes the wait a PacingDelay (no attempt spent).
    throttled: Mapping[object, float] = field(default_factory=dict)
    throttle_is_pacing: bool = False

    def is_token_error(self, code: object) -> bool:
        """True when `code` says the access token must be fetched again."""
        return code in self.token

    def raise_for(self, path: str, code: object, message: str, *, error: type[ApiError] = ApiError) -> None:
        """Raise what `code` (non-zero) means: ApiThrottled, or `error` permanent or not."""
        if code in self.throttled:
            if self.throttle_is_pacing:
                raise ApiThrottled(error.platform, path, code, retry_after=self.throttled[code])
            raise error(path, code, message or "rate limited", retry_after=self.throttled[code])
        raise error(path, code, message, permanent=code in self.permanent)


def text_parts(text: str, *, limit: int, most: int, size: Callable[[str], int] = utf8_size) -> list[str]:
    """`text` as parts of at most `limit` (by `size`: UTF-8 bytes by default) cut at line boundaries (never inside
    a character), at most `most` of them — the last one trimmed with '…' when the text needs more."""
    parts = split_text(text, limit, size=size)
    if len(parts) > most:
        parts = parts[:most - 1] + [fit_text("\n".join(parts[most - 1:]), limit, size=size)]
    return parts


async def send_parts(parts: list[str], send: Callable[[str], Awaitable[T]]) -> T | None:
    """Send `parts` in order through `send`; the first part's result. A failure after the first part is marked
    `sent_some` (the platform cannot be asked what went: a retry sends them again)."""
    first = None
    for number, part in enumerate(parts):
        try:
            result = await send(part)
        except SendError as exc:
            exc.sent_some = number > 0
            raise
        if first is None:
            first = result
    return first
