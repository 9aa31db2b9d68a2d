"""WeCom REST API over aiohttp: access token cache and JSON calls (wechatpy's client is synchronous)."""

from __future__ import annotations

import aiohttp

from bot.platforms import common
from bot.platforms.common import TOKEN_REFUSED, ApiError, ErrorCodes, TokenClient

# Invalid / expired access token: fetch a new one and try again. Permanent: unknown user, no receiver, no
# permission; a 微信客服 session that no longer lets the app send (closed, handed to a human servicer, "session
# status invalid"): retrying would only fail again. Nor would the same message sent again: content over its size
# limit (45002), empty text content (44004), an invalid msgtype (40008) or parameter (40058), a required one
# missing (40063), an invalid UserID (40003), a template card's card_action (42045) — WeCom's global error codes,
# developer.work.weixin.qq.com/document/path/90313. 45009: the API frequency limit, tried again after a minute.
RATE_LIMITED = 45009
ERRORS = ErrorCodes(token={40001, 40014, 42001},
                    permanent={60111, 81013, 301002, 95016, 95017, 95018, 45002, 44004, 40008, 40058, 40063, 40003,
                               42045},
                    throttled={RATE_LIMITED: 60})
# Text content is at most 2,048 bytes of UTF-8 (a Chinese character is three) in message/send and appchat/send
# (docs 90236, 90248; 45002 beyond it, doc 90313) and in 微信客服 kf/send_msg (doc 94677).
TEXT_BYTES = 2048


def text_parts(text: str, *, most: int) -> list[str]:
    """`text` as WeCom text messages: parts of at most TEXT_BYTES (see common.text_parts), at most `most`."""
    return common.text_parts(text, limit=TEXT_BYTES, most=most)


class WeComApiError(ApiError):
    """WeCom answered a non-zero errcode."""

    platform = "wecom"


class WeComApi(TokenClient):
    """One self-built app's API: `call(path, payload)` with the token cached and refreshed when WeCom rejects it."""

    platform = "wecom"

    def __init__(self, *, base_url: str, corp_id: str, secret: str, session: aiohttp.ClientSession | None = None):
        super().__init__(session)
        self.base_url = base_url.rstrip("/") + "/"
        self.corp_id, self.secret = corp_id, secret

    async def _fetch_token(self) -> tuple[str, float]:
        session = await self.http()
        async with session.get(self.base_url + "gettoken",
                               params={"corpid": self.corp_id, "corpsecret": self.secret}) as response:
            data = await response.json(content_type=None)
        if data.get("errcode"):
            raise WeComApiError("gettoken", data["errcode"], data.get("errmsg", ""))
        return data["access_token"], int(data.get("expires_in", 7200))

    async def call(self, path: str, payload: dict) -> dict:
        """POST a JSON API call; one retry with a fresh token on a token error; WeComApiError otherwise."""
        return await self._request(path, lambda session, params: session.post(self.base_url + path, params=params,
                                                                                json=payload))

    async def upload(self, kind: str, *, data: bytes, filename: str, content_type: str) -> str:
        """media/upload of a temporary file (3 days) of `kind` (image, file …); returns its media_id."""
        def post(session: aiohttp.ClientSession, params: dict):
            form = aiohttp.FormData()  # built per attempt: a sent FormData cannot be sent again
            form.add_field("media", data, filename=filename, content_type=content_type)
            return session.post(self.base_url + "media/upload", params={**params, "type": kind}, data=form)
        return (await self._request("media/upload", post))["media_id"]

    async def _request(self, path: str, send) -> dict:
        async def attempt(session: aiohttp.ClientSession, token: str):
            async with send(session, {"access_token": token}) as response:
                data = await response.json(content_type=None)
            code = data.get("errcode", 0)
            if ERRORS.is_token_error(code):
                return TOKEN_REFUSED
            if code:
                ERRORS.raise_for(path, code, "api frequency limit" if code == RATE_LIMITED else data.get("errmsg", ""),
                                 error=WeComApiError)
            return data
        return await self.with_token(path, attempt)
