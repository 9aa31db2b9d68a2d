"""The shared platform plumbing (bot/platforms/common.py) on its own: token cache, window pacer, error codes, parts."""

from __future__ import annotations

import pytest

from bot.platforms.common import (
    ApiError,
    ApiThrottled,
    ErrorCodes,
    TokenCache,
    WindowPacer,
    send_parts,
    text_parts,
)
from bot.ports import PacingDelay, SendError


async def test_the_token_is_fetched_once_then_again_when_refused_or_near_expiry():
    now = [0.0]
    fetched = []

    async def fetch():
        fetched.append(len(fetched) + 1)
        return f"T{len(fetched)}", 7200

    cache = TokenCache(fetch, monotonic=lambda: now[0])
    assert [await cache.get(), await cache.get()] == ["T1", "T1"]
    assert await cache.get(rejected="T1") == "T2"
    assert await cache.get(rejected="T1") == "T2", "an old token's refusal does not fetch again"
    now[0] = 7200 - 300
    assert await cache.get() == "T3", "renewed five minutes before it expires"


def test_the_window_says_when_it_has_room_again():
    now = [0.0]
    pacer = WindowPacer(limit=2, window=60, label="test", monotonic=lambda: now[0])
    pacer.take("a")
    now[0] = 10
    pacer.take("a")
    pacer.take("b")  # another key has a window of its own
    with pytest.raises(PacingDelay) as waited:
        pacer.take("a")
    assert waited.value.retry_after == 50


def test_error_codes_map_to_waits_permanent_failures_and_retries():
    codes = ErrorCodes(token={"expired"}, permanent={"bad"}, throttled={"slow": 2.0}, throttle_is_pacing=True)
    assert codes.is_token_error("expired") and not codes.is_token_error("bad")
    with pytest.raises(ApiThrottled) as throttled:
        codes.raise_for("path", "slow", "")
    assert isinstance(throttled.value, PacingDelay) and throttled.value.retry_after == 2.0
    with pytest.raises(ApiError) as bad:
        codes.raise_for("path", "bad", "no")
    assert bad.value.permanent and bad.value.code == "bad"
    with pytest.raises(ApiError) as other:
        codes.raise_for("path", "busy", "later")
    assert not other.value.permanent
    attempts = ErrorCodes(throttled={45009: 60})
    with pytest.raises(ApiError) as counted:
        attempts.raise_for("path", 45009, "")
    assert not isinstance(counted.value, PacingDelay) and counted.value.retry_after == 60


async def test_parts_go_in_order_and_a_failure_after_the_first_says_some_went():
    assert text_parts("一二三\n四五六", limit=9, most=5) == ["一二三", "四五六"]
    assert len(text_parts("\n".join(["abcdefgh"] * 10), limit=9, most=3)) == 3
    sent = []

    async def send(part):
        if part == "c":
            raise SendError("down")
        sent.append(part)
        return f"ref-{part}"

    assert await send_parts(["a", "b"], send) == "ref-a"
    with pytest.raises(SendError) as failed:
        await send_parts(["a", "c"], send)
    assert failed.value.sent_some
    with pytest.raises(SendError) as first:
        await send_parts(["c"], send)
    assert not first.value.sent_some
