"""A headless Chromium driven over the DevTools protocol (with aiohttp's websocket client), for browser-level tests."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import shutil
import signal
import subprocess
from pathlib import Path

import aiohttp

BROWSERS = ("chromium-headless-shell", "chromium", "chromium-browser")


def find_browser() -> str | None:
    """The first headless-capable Chromium on PATH, or None (tests that need one skip)."""
    return next((path for path in map(shutil.which, BROWSERS) if path), None)


class Browser:
    """One page of a headless Chromium: navigate, evaluate JavaScript, wait for what the page shows."""

    def __init__(self, process: asyncio.subprocess.Process, session: aiohttp.ClientSession, socket):
        self.process = process
        self.session = session
        self.socket = socket
        self._ids = itertools.count(1)

    @classmethod
    async def start(cls, profile: Path, timeout: float = 30.0) -> Browser:
        """Launch the browser with a fresh profile in `profile` and attach to its page."""
        process = await asyncio.create_subprocess_exec(
            find_browser(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
            f"--user-data-dir={profile}", "--remote-debugging-port=0", "about:blank",
            # Its own process group: Debian's launcher is a shell script whose child is the browser, and the
            # whole group must end with the test.
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        active = profile / "DevToolsActivePort"  # the browser writes its port here once it listens
        deadline = asyncio.get_running_loop().time() + timeout
        while not (active.exists() and active.read_text().strip()):
            assert asyncio.get_running_loop().time() < deadline, "the browser did not start"
            await asyncio.sleep(0.1)
        port = active.read_text().split()[0]
        session = aiohttp.ClientSession()
        async with session.get(f"http://127.0.0.1:{port}/json/list") as response:
            page = next(t for t in await response.json() if t["type"] == "page")
        return cls(process, session, await session.ws_connect(page["webSocketDebuggerUrl"], max_msg_size=0))

    async def send(self, method: str, timeout: float = 10.0, **params) -> dict:
        """One DevTools command; its result (events that arrive meanwhile are skipped)."""
        number = next(self._ids)
        await self.socket.send_json({"id": number, "method": method, "params": params})

        async def answer() -> dict:
            while True:
                message = await self.socket.receive_json()
                if message.get("id") == number:
                    return message
        # A page that is reloading may never answer a command sent into its old context: give up on that one
        # (callers polling with wait_for simply ask again) rather than wait forever.
        try:
            message = await asyncio.wait_for(answer(), timeout)
        except TimeoutError:
            raise AssertionError(f"the browser did not answer {method} within {timeout} s") from None
        assert "error" not in message, message["error"]
        return message["result"]

    async def evaluate(self, expression: str):
        """The value of a JavaScript expression in the page (promises awaited)."""
        result = await self.send("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        assert "exceptionDetails" not in result, result["exceptionDetails"]
        return result["result"].get("value")

    async def goto(self, url: str) -> None:
        """Open `url` and wait until it has loaded."""
        await self._leave(f"location.assign({json.dumps(url)})")

    async def reload(self) -> None:
        """Reload the page and wait until the new one has loaded."""
        await self._leave("location.reload()")

    async def _leave(self, navigation: str) -> None:
        # The old document is marked first: until the mark is gone, a "complete" page is the one being left, whose
        # elements vanish under the next step (a race CI hit when the page being left already looked right).
        await self.evaluate(f"window.__leaving = true; {navigation}; true")
        await self.wait_for("!window.__leaving && document.readyState === 'complete' && location.href !== 'about:blank'")

    async def wait_for(self, expression: str, timeout: float = 20.0):
        """Evaluate `expression` until it is truthy, as a person watches the screen; its value."""
        deadline = asyncio.get_running_loop().time() + timeout
        # While the page (re)loads its elements may be missing, or the context gone: that is "not yet".
        guarded = f"(() => {{ try {{ return ({expression}); }} catch (error) {{ return null; }} }})()"
        while True:
            try:
                value = await self.evaluate(guarded)
            except AssertionError:
                value = None
            if value:
                return value
            assert asyncio.get_running_loop().time() < deadline, f"the page never showed: {expression}"
            await asyncio.sleep(0.1)

    async def close(self) -> None:
        """Close the connection and end the browser process."""
        await self.socket.close()
        await self.session.close()
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(self.process.pid, sig)  # the launcher and the browser it started
            except ProcessLookupError:
                break
            try:
                await asyncio.wait_for(self.process.wait(), 5)
                break
            except TimeoutError:  # a browser that ignores SIGTERM must not outlive the test
                continue
