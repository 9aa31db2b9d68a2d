"""The CSAT survey with a 微信客服 customer: it arrives as text (kf carries no buttons) and a typed number answers it,
through the real sync_msg → kf/send_msg wire."""

from __future__ import annotations

from tests.platforms.test_wecom_kf import (  # noqa: F401  (kf is the fixture)
    _customer_opened_a_ticket,
    customer_text,
    kf,
    notify,
    ticket,
)
from tests.platforms.wecom_world import encrypted, text_xml
from tests.waiting import eventually


async def test_a_wechat_customer_rates_by_typing_a_number_and_comments(kf):  # noqa: F811
    client, fake = kf
    before = await _customer_opened_a_ticket(client, fake)
    query, body = encrypted(text_xml("liming", "工单 解决 T-000001 已重开发票", 601))
    await client.post("/wecom/callback", params=query, data=body)
    survey = await eventually(lambda: [t for t in fake.to_customer()[before:] if "您对本次服务满意吗" in t])
    assert "T-000001" in survey[0] and "0 = 还没解决" in survey[0], "how to answer, in words: no buttons on kf"

    fake.queue(customer_text("m-rate", "４"))  # a Chinese keyboard's full-width digit
    await notify(client, token="ENCrate")
    thanks = await eventually(lambda: [t for t in fake.to_customer() if "4 / 5" in t])
    assert "T-000001" in thanks[0]
    fake.queue(customer_text("m-comment", "开票很快"))
    await notify(client, token="ENCcomment")
    await eventually(lambda: [t for t in fake.to_customer() if "感谢您的反馈" in t])

    saved, timeline = await ticket(client)
    assert saved.status == "resolved", "the number and the comment are the survey's, not messages that reopen"
    assert [(e.detail["event"], e.detail.get("score"), e.text) for e in timeline if e.kind == "csat"] == [
        ("rated", "4", None), ("commented", "4", "开票很快")]
