"""Settings from the environment: secrets and where to listen; a section per platform, on when its variables are set."""

from __future__ import annotations

from pathlib import Path
from typing import Self

from pydantic import PrivateAttr, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict


class _Section(BaseSettings):
    """A platform's settings, read from its environment variables; the platform is on exactly when they are set."""

    model_config = SettingsConfigDict(extra="ignore", case_sensitive=False)

    @classmethod
    def configured(cls) -> Self | None:
        """The section from the environment, or None when a required variable is missing (the platform is off)."""
        try:
            return cls()
        except ValidationError as exc:
            if all(error["type"] == "missing" for error in exc.errors()):
                return None
            raise


class SlackSettings(_Section):
    """SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET, SLACK_APP_TOKEN (Socket Mode), SLACK_API_BASE_URL."""

    model_config = SettingsConfigDict(env_prefix="SLACK_")

    bot_token: SecretStr
    signing_secret: SecretStr
    app_token: SecretStr | None = None
    api_base_url: str = "https://slack.com/api/"
    files_base_url: str = "https://files.slack.com/"  # where url_private points: the only other host fetched from


class WeComAibotSettings(_Section):
    """The WeCom 智能机器人 (AI bot) in callback mode: its own Token and EncodingAESKey (receiveid is "")."""

    model_config = SettingsConfigDict(env_prefix="WECOM_AIBOT_")

    token: SecretStr
    encoding_aes_key: SecretStr


class WeComSettings(_Section):
    """WECOM_CORP_ID, WECOM_AGENT_ID, WECOM_SECRET, WECOM_TOKEN, WECOM_ENCODING_AES_KEY, WECOM_API_BASE_URL."""

    model_config = SettingsConfigDict(env_prefix="WECOM_")

    corp_id: str
    agent_id: int
    secret: SecretStr
    token: SecretStr
    encoding_aes_key: SecretStr
    api_base_url: str = "https://qyapi.weixin.qq.com/cgi-bin/"
    _aibot: WeComAibotSettings | None = PrivateAttr(default=None)

    def model_post_init(self, _context) -> None:
        """Read the AI bot's section: it rides on the WeCom app, on exactly when its keys are set as well."""
        self._aibot = WeComAibotSettings.configured()

    @property
    def aibot(self) -> WeComAibotSettings | None:
        """The 智能机器人's settings; None unless WECOM_AIBOT_TOKEN and WECOM_AIBOT_ENCODING_AES_KEY are set."""
        return self._aibot


class DingTalkSettings(_Section):
    """DINGTALK_APP_KEY, DINGTALK_APP_SECRET, DINGTALK_ROBOT_CODE, DINGTALK_API_BASE_URL."""

    model_config = SettingsConfigDict(env_prefix="DINGTALK_")

    app_key: str
    app_secret: SecretStr
    robot_code: str | None = None
    api_base_url: str = "https://api.dingtalk.com"
    oapi_base_url: str = "https://oapi.dingtalk.com"  # the older API (media upload)
    stream: bool = False  # DINGTALK_STREAM=1: receive over the dingtalk-stream WebSocket instead of HTTP callbacks


class Settings(BaseSettings):
    """Process settings from the environment (secrets never come from the YAML file); a section per platform."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", case_sensitive=False)

    database_url: str | None = None
    ticketbot_config: str | None = None
    host: str = "127.0.0.1"
    port: int = 8080
    console_enabled: bool = True
    # Required by the console when listening beyond loopback; presented as a header or a login cookie.
    console_token: SecretStr | None = None
    # One log line per HTTP request (ACCESS_LOG=true): off by default, as the bot logs what it does itself and
    # a line per request costs a busy ack path about a tenth of its time.
    access_log: bool = False
    attachments_url: str | None = None  # s3://bucket/prefix for an S3-compatible content store; unset = database
    # Read from their own variables (SLACK_*, WECOM_*, DINGTALK_*); None when the platform is not configured.
    _slack: SlackSettings | None = PrivateAttr(default=None)
    _wecom: WeComSettings | None = PrivateAttr(default=None)
    _dingtalk: DingTalkSettings | None = PrivateAttr(default=None)

    def model_post_init(self, _context) -> None:
        """Read each platform's section."""
        self._slack = SlackSettings.configured()
        self._wecom = WeComSettings.configured()
        self._dingtalk = DingTalkSettings.configured()

    @property
    def slack(self) -> SlackSettings | None:
        """Slack's settings; None unless its token and signing secret are set."""
        return self._slack

    @property
    def wecom(self) -> WeComSettings | None:
        """The WeCom app's settings (with its AI bot's); None unless its credentials and callback keys are set."""
        return self._wecom

    @property
    def dingtalk(self) -> DingTalkSettings | None:
        """DingTalk's settings; None unless its app key and secret are set."""
        return self._dingtalk

    def effective_database_url(self, workdir: Path | None = None) -> str:
        """DATABASE_URL, or a SQLite file in the working directory when it is unset."""
        if self.database_url:
            return normalize_database_url(self.database_url)
        return f"sqlite+aiosqlite:///{(workdir or Path.cwd()) / 'ticketbot.db'}"


def normalize_database_url(url: str) -> str:
    """Pick the async driver for plain URLs (postgresql:// → asyncpg, sqlite:// → aiosqlite)."""
    for plain, driver in (
        ("postgres://", "postgresql+asyncpg://"),
        ("postgresql://", "postgresql+asyncpg://"),
        ("sqlite://", "sqlite+aiosqlite://"),
    ):
        if url.startswith(plain):
            return driver + url[len(plain) :]
    return url
