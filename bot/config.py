"""Settings: secrets from the environment, everything else from a YAML file validated by pydantic."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Literal, Self

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.business_hours import (
    build_calendar,
    check_country,
    check_time_zone,
    parse_day,
    parse_duration,
    parse_hours,
    parse_weekdays,
)
from bot.events import Platform
from bot.routing import RoutingRule
from bot.tickets import Priority, Status, Tier

Language = Literal["zh-CN", "en"]
Role = Literal["agent", "lead", "manager", "colleague"]


def _keeping(check) -> AfterValidator:
    """A validator that runs `check` (which raises ValueError) and keeps the value as written."""
    def validate(value):
        check(value)
        return value
    return AfterValidator(validate)


Duration = Annotated[str, _keeping(parse_duration)]
TimeZone = Annotated[str, _keeping(check_time_zone)]
Hours = Annotated[str, _keeping(parse_hours)]
Weekdays = Annotated[str, _keeping(parse_weekdays)]
Country = Annotated[str, _keeping(check_country)]
Day = Annotated[date, BeforeValidator(parse_day)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DepartmentConfig(_Strict):
    """A team that owns tickets (Support) or is asked for help (Finance, R&D…)."""

    key: str
    name: dict[Language, str]
    aliases: list[str] = []
    assignment: Literal["round_robin", "least_loaded"] = "round_robin"
    head: str | None = None


class PersonConfig(_Strict):
    """Someone of ours: an agent, lead, manager or a colleague of another department."""

    key: str
    name: str
    roles: list[Role] = Field(min_length=1)
    department: str
    language: Language | None = None
    identities: dict[Platform, str] = {}


class CustomerConfig(_Strict):
    """A known customer account; unknown people who write to the bot are normal-tier customers."""

    key: str
    name: str
    tier: Tier = Tier.NORMAL
    account_manager: str | None = None
    language: Language | None = None
    identities: dict[Platform, list[str] | str] = {}


class IntakeConfig(_Strict):
    """How customer messages become tickets."""

    join_window_minutes: int = Field(default=24 * 60, ge=0)
    default_priority: Priority = Priority.P2
    default_department: str = "support"


class LifecycleConfig(_Strict):
    """Lifecycle knobs the transition table leaves to configuration."""

    reopen_window_days: int = Field(default=7, ge=0)


class BusinessHoursConfig(_Strict):
    """A business calendar: time zone, weekly hours with an optional lunch break, holidays."""

    timezone: TimeZone = "Asia/Shanghai"
    hours: Hours = "09:00-18:00"
    lunch: Hours | None = None
    weekdays: Weekdays = "mon-fri"
    country: Country | None = "CN"
    extra_holidays: list[Day] = []
    extra_workdays: list[Day] = []

    @model_validator(mode="after")
    def _builds(self) -> BusinessHoursConfig:
        # What the fields cannot tell alone (a lunch outside the hours): build the calendar as serve will.
        build_calendar(**self.model_dump())
        return self


class TargetConfig(_Strict):
    """One priority's promise: durations like 15m, 4h, 3d; `business` clocks count only open hours."""

    first_response: Duration | None = None
    resolution: Duration | None = None
    clock: Literal["24x7", "business"] = "business"


def _default_targets() -> dict[Priority, TargetConfig]:
    return {
        Priority.P0: TargetConfig(first_response="15m", resolution="4h", clock="24x7"),
        Priority.P1: TargetConfig(first_response="1h", resolution="24h", clock="24x7"),
        Priority.P2: TargetConfig(first_response="4h", resolution="3d", clock="business"),
        Priority.P3: TargetConfig(first_response="8h", resolution=None, clock="business"),
    }


class SlaOverride(_Strict):
    """Tighter (or looser) targets for a customer tier and/or a department."""

    tier: Tier | None = None
    department: str | None = None
    targets: dict[Priority, TargetConfig]


class EscalationLevel(_Strict):
    """One step of the escalation chain: whom to tell, how long after the breach."""

    after: Duration = "0m"
    to: str  # assignee | lead | department_head | manager | a person key


class SlaConfig(_Strict):
    """SLA policy, reminders and escalations."""

    targets: dict[Priority, TargetConfig] = Field(default_factory=_default_targets)
    overrides: list[SlaOverride] = []
    paused_statuses: list[Status] = [Status.WAITING_CUSTOMER]
    reminders: list[float] = [0.5, 0.8]
    # Outside business hours only the other priorities' reminders go out; these wait for the morning.
    quiet_priorities: list[Priority] = [Priority.P2, Priority.P3]
    escalation: list[EscalationLevel] = [
        EscalationLevel(after="0m", to="assignee"),
        EscalationLevel(after="30m", to="lead"),
        EscalationLevel(after="2h", to="department_head"),
        EscalationLevel(after="4h", to="manager"),
    ]
    escalation_channels: dict[Platform, str] = {}
    # Told at once when a P0 ticket is opened (the director, say).
    notify_on_p0: list[str] = []
    sweep_seconds: float = Field(default=1.0, gt=0)
    # Extra calendars by name, and which department counts on which.
    calendars: dict[str, BusinessHoursConfig] = {}
    department_calendars: dict[str, str] = {}


class AppConfig(_Strict):
    """The whole YAML file."""

    language: Language = "zh-CN"
    categories: list[str] = ["bug", "billing", "how-to", "suggestion", "other"]
    product_modules: list[str] = []
    departments: list[DepartmentConfig] = []
    people: list[PersonConfig] = []
    customers: list[CustomerConfig] = []
    routing: list[RoutingRule] = []
    intake: IntakeConfig = IntakeConfig()
    lifecycle: LifecycleConfig = LifecycleConfig()
    business_hours: BusinessHoursConfig = BusinessHoursConfig()
    sla: SlaConfig = SlaConfig()
    # Per platform, the conversation id where triage cards are posted.
    triage_channels: dict[Platform, str] = {}

    @model_validator(mode="after")
    def _references_exist(self) -> AppConfig:
        departments = {d.key for d in self.departments}
        people = {p.key for p in self.people}
        problems: list[str] = []
        for i, person in enumerate(self.people):
            if person.department not in departments:
                problems.append(f"people.{i}.department: unknown department '{person.department}'")
        for i, dept in enumerate(self.departments):
            if dept.head and dept.head not in people:
                problems.append(f"departments.{i}.head: unknown person '{dept.head}'")
        for i, cust in enumerate(self.customers):
            if cust.account_manager and cust.account_manager not in people:
                problems.append(f"customers.{i}.account_manager: unknown person '{cust.account_manager}'")
        keys: dict[str, int] = {}
        for i, rule in enumerate(self.routing):
            if rule.key in keys:
                # The timeline names a rule by its key: two rules of one key could not be told apart there.
                problems.append(f"routing.{i}.key: '{rule.key}' is routing.{keys[rule.key]}'s already; "
                                "give each rule its own name or key")
            keys.setdefault(rule.key, i)
            then = rule.then
            if then.department and then.department not in departments:
                problems.append(f"routing.{i}.then.department: unknown department '{then.department}'")
            if then.assignee and then.assignee not in people:
                problems.append(f"routing.{i}.then.assignee: unknown person '{then.assignee}'")
            if then.category and then.category not in self.categories:
                problems.append(f"routing.{i}.then.category: unknown category '{then.category}'")
            for who in then.notify:
                if who not in people:
                    problems.append(f"routing.{i}.then.notify: unknown person '{who}'")
        if self.departments and self.intake.default_department not in departments:
            problems.append(f"intake.default_department: unknown department '{self.intake.default_department}'")
        for who in self.sla.notify_on_p0:
            if who not in people:
                problems.append(f"sla.notify_on_p0: unknown person '{who}'")
        for i, level in enumerate(self.sla.escalation):
            if level.to not in ("assignee", "lead", "department_head", "manager") and level.to not in people:
                problems.append(f"sla.escalation.{i}.to: unknown person or role '{level.to}'")
        for dept, name in self.sla.department_calendars.items():
            if name not in self.sla.calendars:
                problems.append(f"sla.department_calendars.{dept}: unknown calendar '{name}'")
        if problems:
            raise ValueError("; ".join(problems))
        return self


class ConfigError(Exception):
    """The config file is missing or invalid; the message names the file, the key and the problem."""


class StartupError(Exception):
    """serve cannot start (its port is taken, its database does not answer); the message is one line."""


def load_config(path: str | Path | None) -> AppConfig:
    """Read and validate the YAML config; no path means built-in defaults."""
    if path is None:
        return AppConfig()
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except (yaml.YAMLError, ValueError) as exc:  # ValueError: a date like 2026-13-01 that YAML reads as one
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of keys")
    try:
        return AppConfig.model_validate(raw)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            key = ".".join(str(part) for part in err["loc"]) or "(top level)"
            message = err["msg"].removeprefix("Value error, ")
            lines.append(f"{path}: {key}: {message}")
        raise ConfigError("\n".join(lines)) from None


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
