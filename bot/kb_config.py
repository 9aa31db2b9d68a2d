"""The knowledge base's settings (the `kb:` section of the YAML file): synonyms and self-service."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from bot.events import Conversation, Platform

# Words a customer and an article may use for one thing. Small on purpose: the segmenter and the stemmer do the
# rest; a deployment adds its own product words in its YAML file.
DEFAULT_SYNONYMS: list[list[str]] = [
    ["发票", "invoice", "开票", "票据", "fapiao"],
    ["抬头", "发票抬头", "title", "billing name"],
    ["退款", "refund", "退钱", "money back", "退费"],
    ["退货", "return", "退回"],
    ["登录", "登陆", "login", "log in", "sign in", "signin"],
    ["密码", "password", "口令"],
    ["验证码", "verification code", "otp", "短信码"],
    ["快递", "物流", "delivery", "shipping", "shipment", "配送", "发货"],
    ["崩溃", "闪退", "crash", "crashes", "闪退了"],
    ["卡顿", "很卡", "lag", "slow", "卡死", "卡"],
    ["账号", "账户", "account", "帐号"],
    ["订单", "order"],
    ["付款", "支付", "payment", "pay"],
    ["取消", "cancel"],
    ["优惠券", "coupon", "折扣码", "voucher"],
    ["地址", "address"],
    ["手机号", "phone number", "mobile number", "电话"],
    ["发票税号", "税号", "tax id", "纳税人识别号"],
    ["会员", "membership", "vip", "subscription", "订阅"],
    ["扣款", "charged", "扣费", "charge"],
    ["删除", "delete", "注销", "remove"],
    ["通知", "notification", "推送", "push"],
]


class SelfServiceConfig(BaseModel):
    """Answering a customer's first message with public articles before a person does (off by default)."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = False
    # Per platform (console, slack, wecom, dingtalk): on or off there; a platform not named follows `enabled`.
    platforms: dict[Platform, bool] = {}
    # Per channel, beating its platform: under a platform, a conversation id (a Slack shared channel C0…, a
    # DingTalk group), an id's prefix up to a colon (`kf:wk…`: every WeChat customer of that 微信客服 account), or
    # a kind of conversation (dm, group, channel). The most particular entry that matches decides.
    channels: dict[Platform, dict[str, bool]] = {}
    vip: bool = False  # VIP customers are answered by a person, not by articles, unless this is on
    max_articles: int = Field(3, ge=1, le=3)
    min_score: float = Field(0.0, ge=0)

    @field_validator("channels")
    @classmethod
    def _named(cls, channels: dict[Platform, dict[str, bool]]) -> dict[Platform, dict[str, bool]]:
        for platform, entries in channels.items():
            if any(not key.strip() for key in entries):
                raise ValueError(f"{platform.value}: an empty channel name")
        return channels

    def on_for(self, conversation: Conversation, *, vip: bool) -> bool:
        """Whether a customer writing in `conversation` (VIP or not) is offered articles."""
        if vip and not self.vip:
            return False
        entries = self.channels.get(conversation.platform, {})
        if conversation.id in entries:
            return entries[conversation.id]
        # Longest prefix first: `kf:wkA` (one account) beats `kf` (every account).
        parts = conversation.id.split(":")
        for end in range(len(parts) - 1, 0, -1):
            prefix = ":".join(parts[:end])
            if prefix in entries:
                return entries[prefix]
        if conversation.kind.value in entries:
            return entries[conversation.kind.value]
        return self.platforms.get(conversation.platform, self.enabled)


class KbConfig(BaseModel):
    """The `kb:` section."""

    model_config = ConfigDict(extra="forbid")

    # Each group: words that mean the same thing; a search for one finds articles that use another.
    synonyms: list[list[str]] = Field(default_factory=lambda: [list(group) for group in DEFAULT_SYNONYMS])
    extra_synonyms: list[list[str]] = []  # added to the defaults (synonyms: replaces them)
    suggestions: int = Field(3, ge=0, le=3)  # related articles on a new ticket's triage card
    self_service: SelfServiceConfig = SelfServiceConfig()

    @field_validator("synonyms", "extra_synonyms")
    @classmethod
    def _groups_of_two(cls, groups: list[list[str]]) -> list[list[str]]:
        for index, group in enumerate(groups):
            if len([word for word in group if word.strip()]) < 2:
                raise ValueError(f"group {index} needs at least two words")
        return groups

    def synonym_groups(self) -> tuple[tuple[str, ...], ...]:
        """The synonym groups in force (hashable: the analysed list is cached by it)."""
        return tuple(tuple(group) for group in self.synonyms + self.extra_synonyms)
