"""Waiting, as a person watching a screen does: poll until what should show has shown."""

from __future__ import annotations

import asyncio


async def eventually(check, timeout: float = 10.0):
    """Poll `check` (plain or async) every 50 ms until it returns something truthy, and return that; fail after
    `timeout` seconds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return result
        assert asyncio.get_running_loop().time() < deadline, f"it never showed within {timeout:g} s"
        await asyncio.sleep(0.05)
