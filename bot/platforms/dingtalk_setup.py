"""Wire DingTalk: the messenger, and robot messages and card callbacks by HTTP callback or Stream mode."""

from __future__ import annotations

from aiohttp import web

from bot.config import Settings
from bot.platforms import Wiring
from bot.platforms.dingtalk import DingTalkCallback, DingTalkInbound, card_callback_token
from bot.platforms.dingtalk_api import DingTalkApi
from bot.platforms.dingtalk_messenger import DingTalkMessenger, SessionWebhooks
from bot.ports.inbound import Inbox


def mount(app: web.Application, router: Inbox, settings: Settings, wiring: Wiring) -> DingTalkMessenger:
    """Mount DingTalk on `app` (the callback route, or the Stream client) and return its messenger."""
    dingtalk = settings.dingtalk
    secret = dingtalk.app_secret.get_secret_value()
    api = DingTalkApi(base_url=dingtalk.api_base_url, oapi_base_url=dingtalk.oapi_base_url,
                      app_key=dingtalk.app_key, app_secret=secret)
    sessions = SessionWebhooks(wiring.state, clock=lambda: wiring.clock.now().timestamp())
    card_callback = None
    if dingtalk.public_url:  # also in Stream mode: a way for presses that do not come over the stream
        token = card_callback_token(secret)
        card_callback = (f"{dingtalk.public_url.rstrip('/')}/dingtalk/card?token={token}", token)
    # An internal app's robot code is its app key unless DINGTALK_ROBOT_CODE says otherwise.
    messenger = DingTalkMessenger(api=api, robot_code=dingtalk.robot_code or dingtalk.app_key, sessions=sessions,
                                  card_callback=card_callback)
    inbound = DingTalkInbound(router=router, sessions=sessions)
    if dingtalk.stream:
        # Imported only in Stream mode: the SDK reads its endpoint when imported, and HTTP mode does not need it.
        from bot.platforms.dingtalk_streaming import run_stream
        run_stream(app, inbound=inbound, app_key=dingtalk.app_key, app_secret=secret,
                   endpoint=dingtalk.api_base_url)
    callback = DingTalkCallback(secret=secret, inbound=inbound, clock=wiring.clock)
    if not dingtalk.stream:
        callback.mount(app)
    elif card_callback is not None:
        app.router.add_post("/dingtalk/card", callback.receive_card)

    async def close(_app: web.Application) -> None:
        await messenger.close()

    app.on_cleanup.append(close)
    return messenger
