"""Wire every WeCom surface: the app callback and messenger, plus 微信客服 and the 智能机器人 when configured."""

from __future__ import annotations

from aiohttp import web

from bot.platforms.wecom import WeComCallback
from bot.platforms.wecom_aibot import setup_aibot
from bot.platforms.wecom_api import WeComApi
from bot.platforms.wecom_kf import setup_kf
from bot.platforms.wecom_messenger import WeComMessenger


def setup_wecom(app: web.Application, *, settings, router) -> WeComMessenger:
    """Mount the WeCom routes on `app` and return the messenger the outbox sends through."""
    api = WeComApi(base_url=settings.wecom_api_base_url, corp_id=settings.wecom_corp_id, secret=settings.wecom_secret)
    messenger = WeComMessenger(api=api, agent_id=int(settings.wecom_agent_id))
    callback = WeComCallback(settings=settings, router=router)
    callback.mount(app)
    setup_kf(callback, messenger, api=api, router=router)  # 微信客服: WeChat customers
    setup_aibot(app, settings=settings, router=router, messenger=messenger)  # 智能机器人: @-commands in group chats

    async def close(_app: web.Application) -> None:
        await messenger.close()

    app.on_cleanup.append(close)
    return messenger
