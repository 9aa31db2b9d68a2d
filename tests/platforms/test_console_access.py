"""The console is no open door: open on loopback, behind CONSOLE_TOKEN elsewhere, refused beyond loopback without it."""

from __future__ import annotations

import pytest

from bot.app import SERVICES, build_app
from bot.config import Settings, load_config
from bot.platforms.console_gate import COOKIE, is_loopback
from bot.ports import TicketQuery
from tests.harness import EXAMPLE_CONFIG
from tests.waiting import eventually

CUSTOMER, AGENT = "wang-store", "alice"
SECRET_DM = "我的发票抬头是 ACME 机密"
TOKEN = "s3cret-console-token"


@pytest.fixture
def start(database_url, aiohttp_client, monkeypatch):
    """Start the app with the given environment (HOST, CONSOLE_TOKEN, …) on the test database."""
    async def start(**env):
        monkeypatch.setenv("DATABASE_URL", database_url)
        for name in ("HOST", "CONSOLE_TOKEN", "CONSOLE_ENABLED"):
            monkeypatch.delenv(name, raising=False)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        app = await build_app(Settings(), config=load_config(EXAMPLE_CONFIG))
        # A customer's earlier DM in the console's history: what an intruder must not read.
        await app[SERVICES].store.console_post({"conversation": CUSTOMER, "thread": None, "html": SECRET_DM,
                                                "card": False, "ephemeral_user": None, "author": "王记小店",
                                                "bot": False}, keep=100)
        return await aiohttp_client(app)
    return start


async def _tickets(client) -> int:
    async with client.app[SERVICES].store.snapshot() as uow:
        return len(await uow.list_tickets(TicketQuery()))


async def _nothing_leaked(response) -> None:
    body = await response.text()
    assert SECRET_DM not in body and "Alice Wang" not in body and "wang-store" not in body


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.1.2.3", "ticketbot.internal"])
async def test_beyond_loopback_without_token_the_console_refuses_everyone(start, host):
    client = await start(HOST=host)
    for method, path, body in (("GET", f"/console/api/messages?as={CUSTOMER}&since=0", None),
                               ("GET", "/console/api/personas", None),
                               ("POST", "/console/api/send", {"as": CUSTOMER, "conversation": CUSTOMER, "text": "hi"}),
                               ("POST", "/console/api/press", {"as": AGENT, "conversation": "triage", "action": "x"}),
                               ("GET", "/", None), ("GET", "/static/console/app.js", None),
                               ("GET", f"/console/api/messages?as={CUSTOMER}&token=guess", None)):
        response = await client.request(method, path, json=body)
        assert response.status == 403, (path, response.status)
        await _nothing_leaked(response)
    assert "CONSOLE_TOKEN" in await (await client.get("/")).text(), "the refusal says how to turn it on"
    assert await _tickets(client) == 0, "the refused send changed nothing"
    assert (await client.get("/healthz")).status == 200, "only the console is refused"


async def test_with_a_token_only_who_presents_it_gets_in(start):
    client = await start(HOST="0.0.0.0", CONSOLE_TOKEN=TOKEN)
    send = {"as": CUSTOMER, "conversation": CUSTOMER, "text": "页面打不开"}
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"X-Console-Token": TOKEN[:-1]}, {"Cookie": f"{COOKIE}={TOKEN}"}):
        response = await client.get("/console/api/messages", params={"as": CUSTOMER}, headers=headers)
        assert response.status == 401, headers
        await _nothing_leaked(response)
        assert (await client.post("/console/api/send", json=send, headers=headers)).status == 401
    assert await _tickets(client) == 0

    bearer = {"Authorization": f"Bearer {TOKEN}"}
    assert (await client.post("/console/api/send", json=send, headers=bearer)).status == 200
    async def answered():
        response = await client.get("/console/api/messages", params={"as": CUSTOMER}, headers={"X-Console-Token": TOKEN})
        assert response.status == 200
        return [m for m in (await response.json())["messages"] if "T-000001" in m["html"]]
    await eventually(answered)
    assert await _tickets(client) == 1


async def test_the_login_page_and_a_token_link_set_a_cookie_once(start):
    client = await start(HOST="0.0.0.0", CONSOLE_TOKEN=TOKEN)
    page = await client.get("/")
    assert page.status == 401
    text = await page.text()
    assert 'type="password"' in text and "app.js" not in text
    await _nothing_leaked(page)

    wrong = await client.post("/console/login", data={"token": "nope"}, allow_redirects=False)
    assert wrong.status == 401 and "not right" in await wrong.text() and COOKIE not in wrong.cookies
    assert (await client.get("/?token=nope", allow_redirects=False)).status == 401

    link = await client.get(f"/?token={TOKEN}&lang=en", allow_redirects=False)
    assert link.status == 303 and link.headers["Location"] == "/?lang=en", "the token leaves the address bar"
    cookie = link.cookies[COOKIE]
    assert cookie.value != TOKEN and cookie["httponly"] and cookie["samesite"] == "Strict"
    page = await client.get("/")  # the client keeps the cookie, as a browser does
    assert page.status == 200 and "app.js" in await page.text()
    messages = await client.get("/console/api/messages", params={"as": CUSTOMER})
    assert messages.status == 200 and SECRET_DM in (await messages.json())["messages"][0]["html"]

    client.session.cookie_jar.clear()
    assert (await client.get("/console/api/personas")).status == 401
    login = await client.post("/console/login", data={"token": TOKEN}, allow_redirects=False)
    assert login.status == 303 and login.headers["Location"] == "/"
    assert (await client.get("/console/api/personas")).status == 200


async def test_on_loopback_the_console_is_open_as_make_run_serves_it(start):
    client = await start(HOST="127.0.0.1")
    response = await client.get("/console/api/messages", params={"as": CUSTOMER})
    assert response.status == 200 and SECRET_DM in (await response.json())["messages"][0]["html"]


async def test_console_disabled_mounts_nothing(start):
    client = await start(HOST="127.0.0.1", CONSOLE_ENABLED="false")
    assert (await client.get("/console/api/personas")).status == 404
    assert (await client.get("/healthz")).status == 200


@pytest.mark.parametrize(("host", "loopback"), [("127.0.0.1", True), ("127.8.0.1", True), ("localhost", True),
                                                ("::1", True), ("[::1]", True), ("0.0.0.0", False), ("", False),
                                                ("::", False), ("192.168.1.5", False), ("example.com", False)])
def test_what_counts_as_loopback(host, loopback):
    assert is_loopback(host) is loopback
