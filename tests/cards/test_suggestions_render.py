"""Similar articles on a ticket's card as each platform draws it: a Send button per article not yet sent, after the
lifecycle's buttons. WeCom's button_interaction holds six buttons (More… included): the Send buttons that do not
fit are left off, the articles' line still names them all (and `/ticket kb send` sends any)."""

from __future__ import annotations

from bot.config import load_config
from bot.directory import Directory
from bot.events import Conversation, ConversationKind, Platform
from bot.i18n import translator
from bot.kb_card import Suggestion
from bot.tickets import Identity, Status, Ticket
from cards import dingtalk, slack, wecom
from cards.ticket import CUSTOMER_VIEW, STAFF_VIEW, ticket_card
from tests.harness import EXAMPLE_CONFIG

SIMILAR = (Suggestion(1, 1, 12, "发票抬头开错了如何重开"), Suggestion(1, 2, 7, "电子发票怎么下载", sent=True),
           Suggestion(1, 3, 3, "发票多久能开好"), Suggestion(1, 4, 9, "退票流程"))


def _card(viewer=STAFF_VIEW, status=Status.NEW, suggestions=SIMILAR[:3]):
    config = load_config(EXAMPLE_CONFIG)
    ticket = Ticket(title="发票抬头写错了", requester=Identity(Platform.CONSOLE, "wang-store"),
                    source=Conversation(platform=Platform.CONSOLE, id="wang-store", kind=ConversationKind.DM),
                    status=status, id=1)
    return ticket_card(ticket, viewer=viewer, directory=Directory(config), categories=config.categories,
                       t=translator("zh-CN"), suggestions=suggestions)


def test_each_unsent_article_has_a_send_button_after_the_lifecycle():
    card = _card()
    labels = [c.label for c in card.actions if hasattr(c, "style")]
    assert labels[-2:] == ["发送 KB-12", "发送 KB-3"], "KB-7 was sent: no button"
    similar = next(f.value for f in card.fields if f.label == "相似文章")
    assert similar == "KB-12 发票抬头开错了如何重开 · KB-7 电子发票怎么下载（已发送） · KB-3 发票多久能开好"
    sends = [c.action for c in card.actions if c.label.startswith("发送")]
    assert sends == ["tb:article:send:12:0:1", "tb:article:send:3:0:1"], "the article's id, the ticket in the variant"


def test_customers_and_finished_tickets_see_no_suggestions():
    for card in (_card(viewer=CUSTOMER_VIEW), _card(status=Status.RESOLVED)):
        assert not [f for f in card.fields if f.label == "相似文章"]
        assert not [c for c in card.actions if c.label.startswith("发送")]


def test_every_platform_draws_them_within_its_limits():
    card = _card(suggestions=SIMILAR[:1] + SIMILAR[2:])  # three unsent
    template = wecom.render_template_card(card, task_id="t1")
    keys = [b["key"] for b in template["button_list"]]
    assert len(keys) == wecom.MAX_BUTTONS and keys[-1].split(":")[2] == "view", "More… stays"
    assert [k.split(":")[3] for k in keys if ":send:" in k] == ["12", "3"], "the best ranked fit, the last is left off"
    rows = [r["keyname"] for r in template["horizontal_content_list"]]
    assert "相似文章" in rows, "among the six rows WeCom shows"
    blocks = slack.render_blocks(card)
    assert [e["action_id"] for b in blocks if b["type"] == "actions" for e in b["elements"]][-3:] == [
        "tb:article:send:12:0:1", "tb:article:send:3:0:1", "tb:article:send:9:0:1"]
    ids = [a["id"] for part in dingtalk.render_card_data(card)["contents"] for a in part.get("actions", [])]
    assert {"tb:article:send:12:0:1", "tb:article:send:3:0:1", "tb:article:send:9:0:1"} <= set(ids)
