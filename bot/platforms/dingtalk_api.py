"""DingTalk's REST APIs over aiohttp: the new OpenAPI (api.dingtalk.com, token header), the older oapi (media
upload) and a conversation's sessionWebhook, with the access token cached and the error codes mapped."""

from __future__ import annotations

import aiohttp

from bot.platforms.common import TOKEN_REFUSED, ApiError, ErrorCodes, TokenClient

# The new OpenAPI answers errors as HTTP 4xx/5xx with {"code", "message", "requestid"}. The token is refused as
# 401 InvalidAuthentication; API rate limits come back as 403 Forbidden.AccessDenied.QpsLimit… or 429
# Throttling… (codes as DingTalk's error centre lists them): wait a second, without spending an attempt.
THROTTLE_SECONDS = 1.0
OPENAPI_ERRORS = ErrorCodes(
    token={"InvalidAuthentication", "invalidAuthentication", "Unauthorized"},
    throttled={code: THROTTLE_SECONDS for code in (
        "Forbidden.AccessDenied.QpsLimitForApi", "Forbidden.AccessDenied.QpsLimitForAppkeyAndApi",
        "Forbidden.AccessDenied.AccessTokenQpsLimit", "Throttling", "Throttling.Api", "Throttling.User")},
    throttle_is_pacing=True)
# The sessionWebhook and oapi answer {"errcode", "errmsg"}: 130101 "send too fast" holds the robot back for a
# while (DingTalk throttles a robot past 20 messages a minute in one chat); 88 / 40014 / 42001 a bad token.
HOOK_THROTTLED = 130101
OAPI_ERRORS = ErrorCodes(token={40014, 42001, 88}, throttled={HOOK_THROTTLED: 60.0, 90018: 60.0},
                         throttle_is_pacing=True)


class DingTalkApiError(ApiError):
    """DingTalk answered an error."""

    platform = "dingtalk"


class DingTalkApi(TokenClient):
    """One internal app: `call(method, path, payload)` on the OpenAPI, `upload` on oapi, `hook(url, payload)`."""

    platform = "dingtalk"

    def __init__(self, *, base_url: str, oapi_base_url: str, app_key: str, app_secret: str,
                 session: aiohttp.ClientSession | None = None):
        super().__init__(session)
        self.base_url = base_url.rstrip("/")
        self.oapi_base_url = oapi_base_url.rstrip("/")
        self.app_key, self.app_secret = app_key, app_secret

    async def _fetch_token(self) -> tuple[str, float]:
        session = await self.http()
        async with session.post(self.base_url + "/v1.0/oauth2/accessToken",
                                json={"appKey": self.app_key, "appSecret": self.app_secret}) as response:
            data = await response.json(content_type=None)
            if response.status >= 400 or "accessToken" not in data:
                # Wrong key or secret: nothing sends until the configuration is fixed; said in every failure.
                raise DingTalkApiError("oauth2/accessToken", data.get("code", response.status),
                                       data.get("message", ""), permanent=400 <= response.status < 500)
        return data["accessToken"], int(data.get("expireIn", 7200))

    async def call(self, method: str, path: str, payload: dict) -> dict:
        """An OpenAPI call with the token header; once more with a fresh token when refused; errors mapped."""
        async def attempt(session: aiohttp.ClientSession, token: str):
            async with session.request(method, self.base_url + path, json=payload,
                                       headers={"x-acs-dingtalk-access-token": token}) as response:
                data = await response.json(content_type=None) if response.content_length != 0 else {}
                status = response.status
            data = data if isinstance(data, dict) else {}
            if status < 400:
                return data
            code = data.get("code") or status
            if status == 401 or OPENAPI_ERRORS.is_token_error(code):
                return TOKEN_REFUSED
            if status == 429 and code not in OPENAPI_ERRORS.throttled:
                code = "Throttling"
            if code in OPENAPI_ERRORS.throttled:
                OPENAPI_ERRORS.raise_for(path, code, data.get("message", ""), error=DingTalkApiError)
            # Any other 4xx would be refused again (a bad parameter, a permission the app lacks); a 5xx is
            # DingTalk's trouble: try again later.
            raise DingTalkApiError(path, code, data.get("message", ""), permanent=status < 500)
        return await self.with_token(path, attempt)

    async def hook(self, url: str, payload: dict) -> None:
        """POST to a conversation's sessionWebhook (no token: the URL is the credential)."""
        session = await self.http()
        async with session.post(url, json=payload) as response:
            data = await response.json(content_type=None)
        code = (data or {}).get("errcode", 0) if isinstance(data, dict) else -1
        if code:
            OAPI_ERRORS.raise_for("sessionWebhook", code, (data or {}).get("errmsg", ""), error=DingTalkApiError)

    async def upload(self, kind: str, *, data: bytes, filename: str, content_type: str) -> str:
        """oapi media/upload of `kind` (image, file …); returns its media_id (what cards and messages show)."""
        async def attempt(session: aiohttp.ClientSession, token: str):
            form = aiohttp.FormData()  # built per attempt: a sent FormData cannot be sent again
            form.add_field("media", data, filename=filename, content_type=content_type)
            async with session.post(self.oapi_base_url + "/media/upload",
                                    params={"access_token": token, "type": kind}, data=form) as response:
                answer = await response.json(content_type=None)
            code = answer.get("errcode", 0)
            if OAPI_ERRORS.is_token_error(code):
                return TOKEN_REFUSED
            if code:
                OAPI_ERRORS.raise_for("media/upload", code, answer.get("errmsg", ""), error=DingTalkApiError)
            return answer["media_id"]
        return await self.with_token("media/upload", attempt)
