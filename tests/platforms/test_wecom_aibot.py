"""WeCom 智能机器人 (AI bot) on the wire: JSON callbacks encrypted as WeCom does (receiveid ""), posted to the
real /wecom/aibot; answers come back in the passive stream replies WeCom polls for, or at a fake response_url."""

from __future__ import annotations

import asyncio
import copy
import json

from wechatpy.crypto import _get_signature
from wechatpy.enterprise.crypto import PrpCrypto

from bot.app import SERVICES, build_app
from bot.config import Settings, load_config
from tests.harness import EXAMPLE_CONFIG
from tests.platforms.wecom_world import (
    AES_KEY,
    CRYPTO,
    FIXTURES,
    SAMPLE,
    TOKEN,
    callback,
    encrypted,
    post,
    signed,
    text_xml,
)
from tests.waiting import eventually

MESSAGE = json.loads((FIXTURES / "aibot_group_text_mention.json").read_text())
REFRESH = json.loads((FIXTURES / "aibot_stream_refresh.json").read_text())
ENTER_CHAT = json.loads((FIXTURES / "aibot_enter_chat_event.json").read_text())
def message(user: str, content: str, msgid: str, response_url: str, *, chat: str = MESSAGE["chatid"]) -> dict:
    data = copy.deepcopy(MESSAGE)
    data.update(msgid=msgid, chatid=chat, response_url=response_url, **{"from": {"userid": user}})
    data["text"]["content"] = content
    return data


async def finished_stream(client, stream_id: str, timeout: float = 10.0) -> str:
    """Poll like WeCom (stream refresh callbacks) until the bot says finish; the final content."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        refresh = copy.deepcopy(REFRESH)
        refresh["stream"]["id"] = stream_id
        answer = await post(client, refresh)
        assert answer["msgtype"] == "stream" and answer["stream"]["id"] == stream_id
        if answer["stream"]["finish"]:
            return answer["stream"]["content"]
        assert asyncio.get_running_loop().time() < deadline, "the stream never finished"
        await asyncio.sleep(0.1)


async def test_url_verification_and_forged_callbacks(aibot):
    client, fake, server = aibot
    echostr = PrpCrypto(CRYPTO.key).encrypt("4827390512", "").decode()
    response = await client.get("/wecom/aibot", params={**signed(echostr), "echostr": echostr})
    assert response.status == 200 and await response.text() == "4827390512"
    assert (await client.get("/wecom/aibot", params={**signed(echostr), "echostr": echostr,
                                                      "msg_signature": "0" * 40})).status == 403
    # Signed with the app's token instead of the AI bot's: refused, and nothing happens.
    plain = message("liming", "@ticketbot 工单 新建 打印机坏了", "forged-1", str(server.make_url("/aibot/response/f")))
    query, body = callback(plain)
    query["msg_signature"] = _get_signature(SAMPLE["token"], query["timestamp"], query["nonce"],
                                            json.loads(body)["encrypt"])
    assert (await client.post("/wecom/aibot", params=query, data=body)).status == 403
    await asyncio.sleep(0.3)
    assert fake.calls == [] and fake.responses == []
    # The same message, genuine, opens the first ticket: the forged one left no trace.
    answer = await post(client, {**plain, "msgid": "genuine-1"})
    assert "T-000001" in await finished_stream(client, answer["stream"]["id"])


async def test_group_command_opens_a_ticket_and_the_group_sees_the_answer(aibot):
    client, fake, server = aibot
    plain = message("liming", "@ticketbot\u2005工单 新建 打印机坏了", "m-1", str(server.make_url("/aibot/response/a")))
    first = await post(client, plain)
    # WeCom waits 5 s: the bot answers at once with a stream it will fill.
    assert first["msgtype"] == "stream" and first["stream"]["finish"] is False
    content = await finished_stream(client, first["stream"]["id"])
    assert "T-000001" in content and "打印机坏了" in content, "the ticket's card, as text, in the group"
    assert fake.responses == [], "answered in the stream: the response_url is kept for later"
    # Alice (language en) lists tickets in the same group: answered in English.
    second = await post(client, message("alice.wang", "@ticketbot ticket list", "m-2",
                                        str(server.make_url("/aibot/response/b"))))
    listing = await finished_stream(client, second["stream"]["id"])
    assert "1 ticket:" in listing and "T-000001" in listing and "打印机坏了" in listing


async def test_redelivery_has_one_effect(aibot):
    client, fake, server = aibot
    plain = message("liming", "@ticketbot 工单 新建 VPN 连不上", "m-retry", str(server.make_url("/aibot/response/r")))
    answers = [await post(client, plain) for _ in range(3)]  # WeCom retries when it did not hear back in 5 s
    assert len({a["stream"]["id"] for a in answers}) == 1, "every retry gets the same stream"
    content = await finished_stream(client, answers[0]["stream"]["id"])
    assert content.count("T-000001") == 1
    listing = await finished_stream(client, (await post(client, message(
        "alice.wang", "@ticketbot ticket list", "m-list", str(server.make_url("/aibot/response/l")))))["stream"]["id"])
    assert "1 ticket:" in listing and "T-000002" not in listing


async def test_later_answers_use_the_response_url_once(aibot):
    client, fake, server = aibot
    # Someone outside the directory (a customer) writes in the group: their words open a ticket.
    plain = message("wangwu", "@ticketbot 打印机卡纸了，急", "m-cust", str(server.make_url("/aibot/response/c1")))
    content = await finished_stream(client, (await post(client, plain))["stream"]["id"])
    assert "T-000001" in content
    # Later an agent answers from the app: the stream is over, so the reply takes the chat's response_url.
    query, body = encrypted(text_xml("alice.wang", "ticket reply T-000001 Please restart the printer", 501))
    assert (await client.post("/wecom/callback", params=query, data=body)).status == 200
    [(key, sent)] = await eventually(lambda: fake.responses)
    assert key == "c1" and sent["msgtype"] == "markdown" and "restart the printer" in sent["markdown"]["content"]
    # A second reply finds the url spent (single use): nothing is posted to it again.
    query, body = encrypted(text_xml("alice.wang", "ticket reply T-000001 Any luck?", 502))
    await client.post("/wecom/callback", params=query, data=body)
    await asyncio.sleep(1.0)
    assert len(fake.responses) == 1
    # The customer's next @-mention joins the ticket (no answer needed): its stream ends, its url stays unused.
    again = message("wangwu", "@ticketbot 还是不行", "m-cust-2", str(server.make_url("/aibot/response/c2")))
    assert await finished_stream(client, (await post(client, again))["stream"]["id"]) == "✓"
    assert len(fake.responses) == 1


async def test_events_and_unknown_streams_are_answered_harmlessly(aibot):
    client, fake, _server = aibot
    query, body = callback(ENTER_CHAT)
    response = await client.post("/wecom/aibot", params=query, data=body)
    assert response.status == 200 and await response.text() == ""
    refresh = copy.deepcopy(REFRESH)
    refresh["stream"]["id"] = "unknown-stream"
    assert (await post(client, refresh))["stream"]["finish"] is True


def test_the_ai_bot_is_on_only_with_its_keys_and_the_wecom_app(monkeypatch):
    for name in ("WECOM_CORP_ID", "WECOM_AGENT_ID", "WECOM_SECRET", "WECOM_TOKEN", "WECOM_ENCODING_AES_KEY",
                 "WECOM_AIBOT_TOKEN", "WECOM_AIBOT_ENCODING_AES_KEY"):
        monkeypatch.delenv(name, raising=False)
    app = {"WECOM_CORP_ID": "c", "WECOM_AGENT_ID": "1", "WECOM_SECRET": "s", "WECOM_TOKEN": "t",
           "WECOM_ENCODING_AES_KEY": AES_KEY}

    def aibot_on(**env) -> bool:
        with monkeypatch.context() as scoped:
            for name, value in env.items():
                scoped.setenv(name, value)
            wecom = Settings().wecom
            return wecom is not None and wecom.aibot is not None

    keys = {"WECOM_AIBOT_TOKEN": TOKEN, "WECOM_AIBOT_ENCODING_AES_KEY": AES_KEY}
    assert aibot_on(**app, **keys)
    assert not aibot_on(**keys)
    assert not aibot_on(**app, WECOM_AIBOT_TOKEN=TOKEN)


async def test_two_replicas_share_the_streams_and_the_response_urls(aibot, aiohttp_client):
    client, fake, server = aibot
    # A second replica of the bot on the same database (same environment): either may take WeCom's callbacks,
    # and either replica's dispatcher may send what a turn produced.
    other = await aiohttp_client(await build_app(Settings(), config=load_config(EXAMPLE_CONFIG)))
    plain = message("wangwu", "@ticketbot 打印机卡纸了，急", "m-two", str(server.make_url("/aibot/response/r1")))
    stream_id = (await post(client, plain))["stream"]["id"]
    assert "T-000001" in await finished_stream(other, stream_id), "the refresh reached the other replica"
    # An agent's later reply goes out once through the url one replica was given, whichever sends it.
    for replica, number in ((other, 601), (client, 602)):
        query, body = encrypted(text_xml("alice.wang", f"ticket reply T-000001 answer {number}", number))
        assert (await replica.post("/wecom/callback", params=query, data=body)).status == 200
    [(key, sent)] = await eventually(lambda: fake.responses)
    await asyncio.sleep(1.0)
    assert key == "r1" and len(fake.responses) == 1, "single use across replicas"
    assert "answer 601" in sent["markdown"]["content"]


async def test_a_day_old_ai_bot_callback_is_refused_and_changes_nothing(aibot):
    client, fake, server = aibot
    plain = message("wangwu", "@ticketbot 打印机卡纸了", "m-old", str(server.make_url("/aibot/response/old")))
    query, body = callback(plain, age=24 * 3600)
    assert (await client.post("/wecom/aibot", params=query, data=body)).status == 403
    await asyncio.sleep(0.2)
    assert fake.calls == [] and fake.responses == []
    async with client.app[SERVICES].store.unit() as uow:
        assert await uow.get_ticket(1) is None
