"""Issue 12 item 7: `/ticket show` reads like a person wrote it, in the reader's language and time zone."""

from __future__ import annotations

import re

from tests.harness import Harness


async def _story(store, clock) -> Harness:
    """A customer's ticket, auto-assigned to Alice, claimed, raised to P1, handed to Finance, resolved."""
    bot = Harness(store, clock)
    await bot.say("wang-store", "页面打不开")
    clock.advance(minutes=5)
    await bot.say("alice", "/ticket claim T-000001", bot.channel())
    await bot.say("alice", "/ticket priority T-000001 P1", bot.channel())
    await bot.say("alice", "/ticket note T-000001 checked the logs", bot.channel())
    await bot.say("linfang", "/ticket assign T-000001 @li", bot.channel())
    await bot.say("linfang", "/ticket resolve T-000001 cache cleared", bot.channel())
    return bot


async def test_a_chinese_reader_sees_chinese_labels_names_and_shanghai_time(store, clock):
    bot = await _story(store, clock)
    await bot.say("linfang", "/ticket show T-000001", bot.channel())
    shown = bot.last_text("triage", visible_to="linfang")
    assert "None" not in shown
    for raw in ("created", "assigned", "status", "priority", "note", "in_progress", "resolved", " li ", "alice"):
        assert raw not in shown, f"{raw!r} is a stored value, not words: {shown}"
    assert "已解决" in shown and "李明" in shown and "Alice Wang" in shown and "P1 · 高" in shown
    # Opened Fri 02:00 UTC = 10:00 in Shanghai (the business_hours timezone, as `/ticket sla` shows it).
    assert re.search(r"11-20 10:0\d", shown) and "11-20 02:0" not in shown, shown


async def test_an_english_reader_sees_english_words(store, clock):
    bot = await _story(store, clock)
    await bot.say("alice", "/ticket show T-000001", bot.channel())
    shown = bot.last_text("triage", visible_to="alice")
    assert "None" not in shown and "in_progress" not in shown and "d:" not in shown
    assert "Resolved" in shown and "李明" in shown and "checked the logs" in shown


async def test_a_routing_rule_is_named_in_the_readers_language(store, clock):
    bot = Harness(store, clock)
    await bot.say("wang-store", "请帮我开发票")  # the sample's first rule sends it to Finance
    await bot.say("linfang", "/ticket show T-000001", bot.channel())
    shown = bot.last_text("triage", visible_to="linfang")
    assert "规则“发票和合同转财务”" in shown and "invoices and contracts" not in shown, shown
    await bot.say("alice", "/ticket show T-000001", bot.channel())
    shown = bot.last_text("triage", visible_to="alice")
    assert "rule “invoices and contracts to Finance”" in shown and "发票和合同转财务" not in shown, shown


async def test_a_rule_named_in_one_language_or_gone_from_the_config_still_reads(store, clock):
    from bot.config import load_config
    from bot.routing import RoutingRule
    from tests.harness import EXAMPLE_CONFIG

    config = load_config(EXAMPLE_CONFIG)
    # A payments specialist rule named only in English, and one that routes by the module and is later removed.
    config.routing = [RoutingRule.model_validate({"name": {"en": "payments specialist"}, "match": {"keywords": ["支付"]},
                                                  "then": {"assignee": "li"}}),
                      RoutingRule.model_validate({"name": "old invoice rule", "match": {"keywords": ["发票"]},
                                                  "then": {"department": "finance"}})]
    bot = Harness(store, clock, config)
    await bot.say("wang-store", "支付失败了")
    await bot.say("someone-new", "请帮我开发票")  # an unknown writer is a customer too
    config.routing.pop()  # the rule is gone from the config; its tickets' timelines still name it
    await bot.say("linfang", "/ticket show T-000001", bot.channel())
    assert "规则“payments specialist”" in bot.last_text("triage", visible_to="linfang")
    await bot.say("linfang", "/ticket show T-000002", bot.channel())
    assert "规则“old invoice rule”" in bot.last_text("triage", visible_to="linfang")
