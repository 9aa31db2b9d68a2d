"""The agent works on Slack, Finance only on WeCom: the request reaches the colleague on their own platform and the
answer comes back to the agent where they asked."""

from __future__ import annotations

from bot.config import load_config
from bot.events import Platform
from tests.harness import EXAMPLE_CONFIG
from tests.platforms.fake_slack import start_fake_slack
from tests.platforms.slack_world import SlackWorld, slack_app
from tests.platforms.wecom_world import FakeWeCom, encrypted, serve_fake_wecom, text_xml


async def test_agent_on_slack_asks_finance_who_is_on_wecom_only(database_url, aiohttp_client, aiohttp_server,
                                                                monkeypatch):
    config = load_config(EXAMPLE_CONFIG)
    zhao = next(p for p in config.people if p.key == "zhao")
    zhao.identities = {Platform.WECOM: "zhao"}  # Finance's contact is on WeCom and nowhere else
    wecom = FakeWeCom()
    await serve_fake_wecom(wecom, aiohttp_server, monkeypatch)
    slack_fake, base_url = await start_fake_slack(aiohttp_server)
    world = SlackWorld(await aiohttp_client(await slack_app(base_url, database_url, monkeypatch, config=config)),
                       slack_fake)

    await world.say("U0CUST", "发票金额不对", "D0CUST")
    await world.eventually(lambda: [a for a in slack_fake.of("chat.postMessage") if a.get("channel") == "C0TRIAGE"])
    await world.command("U0ALICE", "ask T-000001 @finance 请核对发票金额 截止 2h")
    card = await world.eventually(lambda: [c for _p, c in wecom.cards("zhao")])
    assert card[0]["template_card"]["main_title"]["title"].startswith("R-000001")
    assert not [a for a in slack_fake.of("chat.postMessage") if a.get("channel") == "D0ZHAO"], \
        "nothing is sent to a Slack identity Zhao does not have"

    query, body = encrypted(text_xml("zhao", "金额无误，可以退款", 4242))
    response = await world.client.post("/wecom/callback", params=query, data=body)
    assert response.status == 200
    heard = await world.eventually(lambda: [t for t in world.texts_to("C0TRIAGE") if "金额无误" in t])
    assert "R-000001" in heard[0], "Alice hears the answer on Slack, where she asked"
