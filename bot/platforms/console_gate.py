"""Who may open the console: anyone on loopback, whoever presents CONSOLE_TOKEN elsewhere, nobody without it."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from enum import StrEnum
from pathlib import Path

from aiohttp import web

STATIC = Path(__file__).resolve().parent / "console_static"
COOKIE = "ticketbot_console"
LOGIN = "/console/login"
COOKIE_DAYS = 30


class Access(StrEnum):
    """How the console is reachable."""

    OPEN = "open"  # listening on loopback without a token: `make run` on one's own machine
    TOKEN = "token"  # CONSOLE_TOKEN is set: presented as a header, or by a cookie the login sets
    LOCKED = "locked"  # listening beyond loopback without a token: the console refuses everyone
    OFF = "off"  # CONSOLE_ENABLED=false


def is_loopback(host: str) -> bool:
    """True for localhost, 127.0.0.0/8 and ::1: only this machine can connect."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip().strip("[]")).is_loopback
    except ValueError:
        return False  # a host name, or "" (every interface): reachable from elsewhere


def console_token(settings) -> str | None:
    """The console's secret from the environment, or None when unset or empty."""
    secret = settings.console_token
    return (secret.get_secret_value() or None) if secret is not None else None


def console_access(settings) -> Access:
    """Off, locked, behind the token, or open, from CONSOLE_ENABLED, CONSOLE_TOKEN and the listening host."""
    if not settings.console_enabled:
        return Access.OFF
    if console_token(settings):
        return Access.TOKEN
    return Access.OPEN if is_loopback(settings.host) else Access.LOCKED


def describe(access: Access) -> str:
    """A few words on how the console can be reached, for the banner and check-config."""
    return {Access.OPEN: "console open on loopback", Access.TOKEN: "console behind CONSOLE_TOKEN",
            Access.LOCKED: "console off: set CONSOLE_TOKEN to use it beyond loopback", Access.OFF: "console off"}[access]


def _console_path(path: str) -> bool:
    return path == "/" or path.startswith(("/console/", "/static/console/"))


def _same(offered: str, expected: str) -> bool:
    return bool(offered) and hmac.compare_digest(offered.encode(), expected.encode())


def _login_page(*, wrong: bool = False) -> web.Response:
    page = (STATIC / "login.html").read_text(encoding="utf-8")
    if wrong:
        page = page.replace('<p class="wrong" hidden>', '<p class="wrong">')
    return web.Response(text=page, content_type="text/html", status=401)


def install_gate(app: web.Application, *, token: str | None) -> None:
    """Put the console's page, files and API behind `token` (nothing changes without one)."""
    if not token:
        return
    # The cookie carries a value derived from the token, not the token; a new token signs every page out.
    session = hmac.new(token.encode(), b"ticketbot console session", hashlib.sha256).hexdigest()

    def presented(request: web.Request) -> bool:
        bearer = request.headers.get("Authorization", "")
        offered = bearer[7:].strip() if bearer[:7].lower() == "bearer " else request.headers.get("X-Console-Token", "")
        return _same(offered, token) or _same(request.cookies.get(COOKIE, ""), session)

    def signed_in(request: web.Request, location: str) -> web.Response:
        response = web.Response(status=303, headers={"Location": location})
        # Strict: no other site can make a browser send it, so no other page can press buttons in the console.
        response.set_cookie(COOKIE, session, httponly=True, samesite="Strict", path="/", secure=request.secure,
                            max_age=COOKIE_DAYS * 86400)
        return response

    @web.middleware
    async def gate(request: web.Request, handler):
        if not _console_path(request.path):
            return await handler(request)
        if presented(request):
            return web.Response(status=303, headers={"Location": "/"}) if request.path == LOGIN else await handler(request)
        if request.path == LOGIN and request.method == "POST":
            form = await request.post()
            return signed_in(request, "/") if _same(str(form.get("token", "")), token) else _login_page(wrong=True)
        if request.method == "GET" and "token" in request.query:
            # A link with ?token=…: signed in once, then the token leaves the address bar (and the history).
            if _same(request.query["token"], token):
                return signed_in(request, str(request.rel_url.without_query_params("token")))
            return _login_page(wrong=True)
        if request.path.startswith("/console/api/"):
            return web.json_response({"error": "the console needs its token (CONSOLE_TOKEN)"}, status=401)
        return _login_page()

    app.middlewares.append(gate)


def install_lock(app: web.Application, *, host: str) -> None:
    """Refuse the console to everyone: it listens on `host`, beyond loopback, and no CONSOLE_TOKEN is set."""
    reason = (f"The console is off: ticketbot listens on {host or 'every interface'} and CONSOLE_TOKEN is not set. "
              "Set CONSOLE_TOKEN to use it from elsewhere, or listen on 127.0.0.1.\n"
              f"控制台已关闭：ticketbot 监听 {host or '所有网卡'}，但未设置 CONSOLE_TOKEN。"
              "设置 CONSOLE_TOKEN 后方可从其他机器使用，或只监听 127.0.0.1。\n")

    @web.middleware
    async def lock(request: web.Request, handler):
        if _console_path(request.path):
            return web.Response(text=reason, status=403)
        return await handler(request)

    app.middlewares.append(lock)
