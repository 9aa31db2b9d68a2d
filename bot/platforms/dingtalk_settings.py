"""DingTalk's settings beyond the credentials bot.config reads (which decide whether DingTalk is on at all)."""

from __future__ import annotations

from bot.config import DingTalkSettings


class DingTalkOptions(DingTalkSettings):
    """DINGTALK_OAPI_BASE_URL, DINGTALK_STREAM, DINGTALK_PUBLIC_URL, besides the section's own variables."""

    oapi_base_url: str = "https://oapi.dingtalk.com"  # the older API (media upload)
    # DINGTALK_STREAM=1: receive over the dingtalk-stream WebSocket instead of HTTP callbacks (no public address).
    stream: bool = False
    # HTTP mode: the bot's public base URL, so DingTalk can post card presses to /dingtalk/card (registered at
    # the first card sent). Without it, and without Stream mode, cards are sent but presses cannot come back.
    public_url: str | None = None

    @property
    def robot(self) -> str:
        """The robot's code: DINGTALK_ROBOT_CODE, which for an internal app's robot is its app key by default."""
        return self.robot_code or self.app_key
