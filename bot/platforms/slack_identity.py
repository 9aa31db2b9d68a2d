"""Who the bot is on Slack (auth.test), given to Bolt without a live call: remembered in the shared state.

Bolt's own authorization calls auth.test on the first request and, while that fails, answers every request
with "this installation is no longer available" (or a 500 when the connection is refused) — nothing recorded.
Our requests are verified by their signature, so the identity is only needed to recognise the bot's own
mentions and messages: the last one learnt (by any replica) is used, a fresh one fetched in the background
with retries, and a request that finds none yet goes on with the token alone.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import suppress
from datetime import timedelta

from slack_bolt.authorization import AuthorizeResult
from slack_sdk.web.async_client import AsyncWebClient

from bot.ports import Clock

log = logging.getLogger(__name__)
KEY = "slack:identity"
KEEP = timedelta(days=30)  # refreshed at every start; long enough to outlast any outage
FIRST_WAIT = 1.0  # seconds a request waits for the very first auth.test (never again once one failed)
RETRY_FIRST, RETRY_MAX = 0.5, 30.0  # seconds between auth.test attempts: doubling up to the cap


class SlackIdentity:
    """The bot's user id, bot id and team, for Bolt's `authorize`, never depending on the API being up."""

    def __init__(self, *, client: AsyncWebClient, state, clock: Clock):
        self.client, self.state, self.clock = client, state, clock
        self.known: dict | None = None
        self._fetch: asyncio.Task | None = None
        self._failed = False
        self._started = False

    async def _start(self) -> None:
        """Read the last identity from the shared state, and refresh it from the API in the background."""
        self._started = True
        try:
            self.known = await self._remembered() or None
        except Exception as exc:  # only a head start: without it the API is asked
            log.warning("slack: could not read the remembered identity: %s", exc)
        self._ensure_fetch()

    async def stop(self, _app=None) -> None:
        """Stop fetching."""
        if self._fetch is not None:
            self._fetch.cancel()
            with suppress(asyncio.CancelledError):
                await self._fetch

    async def authorize(self, enterprise_id: str | None, team_id: str | None, user_id: str | None) -> AuthorizeResult:
        """Bolt's authorize: the known identity, else (while the API cannot say) the token alone."""
        if not self._started:  # on the first request that needs it (a command acknowledged directly does not)
            await self._start()
        if self.known is None:
            self._ensure_fetch()
            if not self._failed:  # a normal start: the first answer is a moment away
                with suppress(TimeoutError, asyncio.CancelledError):
                    await asyncio.wait_for(asyncio.shield(self._fetch), FIRST_WAIT)
        known = self.known or {}
        return AuthorizeResult(enterprise_id=enterprise_id or known.get("enterprise_id"),
                               team_id=team_id or known.get("team_id"), bot_token=self.client.token,
                               bot_id=known.get("bot_id"), bot_user_id=known.get("user_id"), user_id=user_id)

    def _ensure_fetch(self) -> None:
        if self._fetch is None or self._fetch.done():
            self._fetch = asyncio.ensure_future(self._fetch_until_answered())

    async def _fetch_until_answered(self) -> None:
        delay = RETRY_FIRST
        while True:
            try:
                answer = await self.client.auth_test()
                break
            except Exception as exc:  # SlackApiError, refused connections, timeouts: all mean "not now"
                if not self._failed:
                    log.warning("slack: auth.test failed (%s); accepting requests, retrying", exc)
                self._failed = True
                await asyncio.sleep(delay)
                delay = min(delay * 2, RETRY_MAX)
        self.known = {"user_id": answer.get("user_id"), "bot_id": answer.get("bot_id"),
                      "team_id": answer.get("team_id"), "enterprise_id": answer.get("enterprise_id")}
        self._failed = False
        try:
            await self.state.change_state(KEY, lambda _old: (self.known, None), now=self.clock.now(),
                                          expires_at=self.clock.now() + KEEP)
        except Exception as exc:  # remembering is a convenience for the next start
            log.warning("slack: could not remember the identity: %s", exc)

    async def _remembered(self) -> dict:
        # Read through a change that writes back what it read (or nothing), so the read is atomic like a change.
        return await self.state.change_state(KEY, lambda old: (old or None, old), now=self.clock.now(),
                                             expires_at=self.clock.now() + KEEP)
