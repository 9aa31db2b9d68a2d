"""Issue 12 item 5: what an agent's DM collects from the SLA sweep stays short — one reminder per band, one card."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bot.config import load_config
from tests.harness import EXAMPLE_CONFIG, Harness

SH = ZoneInfo("Asia/Shanghai")


def _config(first_response: str, resolution: str | None = None, clock: str = "24x7"):
    """The sample config with every priority on the same short promise (as a team tries a 3-minute SLA)."""
    config = load_config(EXAMPLE_CONFIG)
    for target in config.sla.targets.values():
        target.first_response, target.resolution, target.clock = first_response, resolution, clock
    config.sla.overrides = []
    return config


def _dm(bot, person: str) -> list[str]:
    """The DM as its reader sees it: texts as they are, cards by their title."""
    return [m.text if m.text is not None else f"[card] {m.card.title}"
            for m in bot.messenger.sent if m.target.id == person]


async def test_a_short_window_reminds_once_per_thing_it_can_say(store, clock):
    bot = Harness(store, clock, _config("3m"))
    await bot.say("wang-store", "页面打不开")
    for _ in range(200):  # the sweep runs every second
        await bot.tick()
        clock.advance(seconds=1)
    reminders = [t for t in bot.texts("alice") if "⏰" in t]
    assert len(reminders) == 1, f"both bands read 'due in 1 min': {reminders}"


async def test_bands_due_in_one_sweep_send_only_the_latest(store, clock):
    # A P2 on a 24x7 clock opened at night: its quiet reminders and its first escalation all wait for 09:00.
    bot = Harness(store, clock, _config("2h"))
    clock.set(datetime(2026, 11, 20, 23, 0, tzinfo=SH).astimezone(UTC))
    await bot.say("wang-store", "页面打不开")
    await bot.tick()
    clock.set(datetime(2026, 11, 23, 9, 0, tzinfo=SH).astimezone(UTC))
    await bot.tick()
    said = " ".join(bot.texts("alice"))
    assert "⏰" not in said, f"a reminder 'due in …' of a deadline long passed: {said}"
    assert said.count("🚨") == 1


async def test_the_dm_gets_one_card_of_a_ticket_and_it_is_updated(store, clock):
    bot = Harness(store, clock, _config("3m"))
    await bot.say("wang-store", "页面打不开")
    for _ in range(400):
        await bot.tick()
        clock.advance(seconds=1)
    cards = bot.cards("alice")
    assert len(cards) == 1, _dm(bot, "alice")
    assert cards[0].updates >= 1, "later notices refresh the card already there"
    assert len(bot.cards("escalations")) == 1


async def test_notices_of_one_ticket_in_one_sweep_are_one_message(store, clock):
    # The bot was down: the response deadline passed and the resolution reminder came due meanwhile.
    bot = Harness(store, clock, _config("10m", "30m"))
    await bot.say("wang-store", "页面打不开")
    await bot.tick()
    before = len(bot.messenger.sent)
    clock.advance(minutes=25)
    await bot.tick()
    new = [m for m in bot.messenger.sent[before:] if m.target.id == "alice" and m.text]
    assert len(new) == 1, [m.text for m in new]
    assert "🚨" in new[0].text and "⏰" in new[0].text
