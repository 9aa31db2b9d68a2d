"""Wire every WeCom surface: the app callback and messenger, plus 微信客服 and the 智能机器人 when configured."""

from __future__ import annotations

from aiohttp import web

from bot.config import Settings
from bot.platforms import Wiring
from bot.platforms.wecom import WeComCallback
from bot.platforms.wecom_aibot import mount_aibot
from bot.platforms.wecom_api import WeComApi
from bot.platforms.wecom_kf import setup_kf
from bot.platforms.wecom_messenger import WeComMessenger
from bot.ports.inbound import Inbox


def mount(app: web.Application, router: Inbox, settings: Settings, wiring: Wiring) -> WeComMessenger:
    """Mount the WeCom routes on `app` and return the messenger the outbox sends through."""
    wecom = settings.wecom
    api = WeComApi(base_url=wecom.api_base_url, corp_id=wecom.corp_id, secret=wecom.secret.get_secret_value())
    messenger = WeComMessenger(api=api, agent_id=wecom.agent_id)
    callback = WeComCallback(settings=wecom, router=router, clock=wiring.clock)
    callback.mount(app)
    setup_kf(callback, messenger, api=api, router=router)  # 微信客服: WeChat customers
    if wecom.aibot is not None:  # 智能机器人: @-commands in group chats
        mount_aibot(app, settings=wecom.aibot, router=router, messenger=messenger, state=wiring.state,
                    clock=wiring.clock)

    async def close(_app: web.Application) -> None:
        await messenger.close()

    app.on_cleanup.append(close)
    return messenger
