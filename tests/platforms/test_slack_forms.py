"""Forms on Slack, on the wire: a signed press → views.open as the fake Web API received it; a signed view_submission
→ the change on the ticket or article, errors inline in the submitter's language, a replay with one effect."""

from __future__ import annotations

import json

from bot.app import SERVICES
from tests.platforms.fake_slack import TEAM, form
from tests.platforms.slack_world import FIXTURES, action_id, card_text

CUSTOMER, ALICE, LEAD, ZHAO = "U0CUST", "U0ALICE", "U0LINFANG", "U0ZHAO"


def _view(call_args: dict) -> dict:
    view = call_args["view"]
    return view if isinstance(view, dict) else json.loads(view)


def _fixture(name: str) -> dict:
    return json.loads(FIXTURES.joinpath(f"{name}.json").read_text())


async def _submit(slack, user: str, view: dict, values: dict[str, str], *, view_id="V1", hash_="h1"):
    """Slack's view_submission of `view` with `values` typed in (selects by their option value)."""
    state = {}
    for block in view["blocks"]:
        if block["type"] != "input" or block["block_id"] not in values:
            continue
        value = values[block["block_id"]]
        if block["element"]["type"] == "static_select":
            state[block["block_id"]] = {"value": {"type": "static_select", "selected_option":
                                                  {"value": value, "text": {"type": "plain_text", "text": value}}}}
        else:
            state[block["block_id"]] = {"value": {"type": "plain_text_input", "value": value or None}}
    payload = {"type": "view_submission", "user": {"id": user, "name": user.lower()}, "team": {"id": TEAM},
               "api_app_id": "A0APP", "view": {**view, "id": view_id, "hash": hash_, "state": {"values": state}}}
    return await slack.post(form(payload=json.dumps(payload)), "application/x-www-form-urlencoded")


def _request_card(slack) -> dict:
    call = [c for c in slack.fake.calls if c.status == 200 and c.method == "chat.postMessage"
            and c.args.get("channel") == "D0ZHAO" and c.args.get("blocks")][-1]
    return {"ts": slack.fake.answer_ts(call), "channel": "D0ZHAO", "blocks": call.args["blocks"]}


async def _asked(slack) -> dict:
    """A customer's invoice question, asked of Finance by Alice: 赵会计's request card in his DM."""
    await slack.say(CUSTOMER, "发票金额不对", "D0CUST")
    await slack.eventually(slack.triage_cards)
    await slack.command(ALICE, "ask T-000001 @finance 请核对发票金额 截止 2h")
    await slack.eventually(lambda: [c for c in slack.fake.of("chat.postMessage") if c.get("channel") == "D0ZHAO"
                                    and c.get("blocks")])
    return _request_card(slack)


async def _timeline(slack, kind: str) -> list:
    async with slack.client.app[SERVICES].store.unit() as uow:
        return [e for e in await uow.timeline(1) if e.kind == kind]


async def test_answer_press_opens_the_answer_form(slack):
    card = await _asked(slack)
    await slack.press(ZHAO, card, action_id(card, "answer"), trigger="trig.answer")
    [opened] = await slack.eventually(lambda: slack.fake.of("views.open"))
    assert opened["trigger_id"] == "trig.answer"
    assert _view(opened) == _fixture("view_request_answer")
    assert not slack.fake.of("chat.postEphemeral"), "the form is the answer to the press"


async def test_answer_form_lands_like_a_chat_answer_once(slack):
    card = await _asked(slack)
    await slack.press(ZHAO, card, action_id(card, "answer"))
    view = _view((await slack.eventually(lambda: slack.fake.of("views.open")))[0])

    response = await _submit(slack, ZHAO, view, {"answer": "金额无误，可以退款", "attachment": "对账单第 3 页"})
    assert response.status == 200
    again = await _submit(slack, ZHAO, view, {"answer": "金额无误，可以退款", "attachment": "对账单第 3 页"})
    assert again.status == 200  # Slack's retry of the same submission: acknowledged, no second effect
    await slack.eventually(lambda: [a for a in slack.fake.of("chat.update") if a.get("channel") == "D0ZHAO"
                                    and "已答复" in json.dumps(a.get("blocks"), ensure_ascii=False)])
    told = await slack.eventually(lambda: [t for t in slack.texts_to("C0TRIAGE") if "金额无误" in t])
    assert "R-000001" in told[0]
    answered = [e for e in await _timeline(slack, "request") if e.detail["event"] == "answered"]
    assert [e.text for e in answered] == ["金额无误，可以退款\n📎 对账单第 3 页"] and answered[0].actor == "zhao"
    async with slack.client.app[SERVICES].store.unit() as uow:
        assert (await uow.get_ticket(1)).status == "in_progress", "the last open request answered: back to work"
    await slack.eventually(lambda: "处理中" in card_text(slack.triage_cards()[0]))


async def test_an_empty_answer_is_refused_inline_in_the_colleagues_language(slack):
    card = await _asked(slack)
    await slack.press(ZHAO, card, action_id(card, "answer"))
    view = _view((await slack.eventually(lambda: slack.fake.of("views.open")))[0])
    response = await _submit(slack, ZHAO, view, {"answer": "", "attachment": "x" * 501})
    body = await response.json()
    assert response.status == 200 and body["response_action"] == "errors"
    assert body["errors"] == {"answer": "请填写“您的答复”。", "attachment": "“附件说明”请不要超过 500 个字符。"}
    assert [e.detail["event"] for e in await _timeline(slack, "request")] == ["asked"], "nothing changed"


async def test_a_stale_answer_form_is_told_who_changed_the_request(slack):
    card = await _asked(slack)
    await slack.press(ZHAO, card, action_id(card, "answer"))
    view = _view((await slack.eventually(lambda: slack.fake.of("views.open")))[0])
    await slack.command(ALICE, "deadline R-000001 3h")  # the asker moves the deadline while the form is open
    await slack.eventually(lambda: [e for e in slack.fake.of("chat.update") if e.get("channel") == "D0ZHAO"])
    assert (await _submit(slack, ZHAO, view, {"answer": "金额无误"})).status == 200
    told = await slack.eventually(lambda: [a["text"] for a in slack.fake.of("chat.postEphemeral")
                                           if a.get("user") == ZHAO and "Alice Wang" in a.get("text", "")])
    assert "R-000001" in told[0] and "修改" in told[0]
    assert "answered" not in [e.detail["event"] for e in await _timeline(slack, "request")]


async def test_answer_press_by_someone_not_asked_says_why_instead_of_a_form(slack):
    card = await _asked(slack)
    await slack.press("U0CHEN", card, action_id(card, "answer"))  # 陈工 of R&D: not asked
    told = await slack.eventually(lambda: [a["text"] for a in slack.fake.of("chat.postEphemeral")
                                           if a.get("user") == "U0CHEN"])
    assert "R-000001" in told[0] and not slack.fake.of("views.open")


async def _draft_card(slack) -> dict:
    """A resolved ticket saved to the knowledge base by its card's button: the draft's card in the triage channel."""
    await slack.say(CUSTOMER, "发票抬头写错了", "D0CUST")
    await slack.eventually(slack.triage_cards)
    await slack.command(LEAD, "resolve T-000001 已在订单详情申请换开")
    card = await slack.eventually(lambda: [c for c in slack.triage_cards() if "tb:article:save" in card_text(c)])
    await slack.press(ALICE, card[0], action_id(card[0], "save"))
    return (await slack.eventually(lambda: [c for c in slack.triage_cards() if "tb:article:edit" in card_text(c)]))[0]


async def test_kb_draft_edit_form_saves_a_new_version(slack):
    card = await _draft_card(slack)
    assert "KB-1" in card_text(card) and "Draft" in card_text(card), "in the language of whoever saved it, as `show` does"
    await slack.press(ALICE, card, action_id(card, "edit"), trigger="trig.edit")
    [opened] = await slack.eventually(lambda: slack.fake.of("views.open"))
    view = _view(opened)
    assert view == _fixture("view_article_edit")

    response = await _submit(slack, ALICE, view, {"title": "", "visibility": "public"})
    body = await response.json()
    assert body["errors"] == {"title": "Fill in “Title”."}, "Alice reads English"
    response = await _submit(slack, ALICE, view, {"title": "Reissue an invoice with the right company name",
                                                  "visibility": "public", "category": "billing"})
    assert (await response.json())["errors"] == {"visibility": "Only a lead may make an article public."}

    response = await _submit(slack, ALICE, view, {"title": "Reissue an invoice with the right company name",
                                                  "problem": "The company name on the e-invoice is wrong",
                                                  "solution": "Order details → Invoice → Reissue",
                                                  "category": "billing", "tags": "invoice, 发票，reissue",
                                                  "visibility": "internal"}, hash_="h3")
    assert response.status == 200
    await slack.eventually(lambda: [a for a in slack.fake.of("chat.update") if "Reissue an invoice" in
                                    json.dumps(a.get("blocks"), ensure_ascii=False)])
    async with slack.client.app[SERVICES].store.unit() as uow:
        article = await uow.kb.get_article(1)
        history = await uow.kb.article_versions(1)
    assert (article.version, article.title, article.tags, article.category, article.author) == (
        2, "Reissue an invoice with the right company name", ("invoice", "发票", "reissue"), "billing", "alice")
    assert [v.title for v in history] == ["发票抬头写错了"], "the draft kept as version 1"


async def test_a_lead_makes_the_article_public_by_the_form_and_a_stale_form_saves_nothing(slack):
    card = await _draft_card(slack)
    await slack.press(LEAD, card, action_id(card, "edit"))
    view = _view((await slack.eventually(lambda: slack.fake.of("views.open")))[0])
    await slack.command(ALICE, "kb edit KB-1 title 发票抬头错了怎么换开")  # someone edits while the form is open
    await slack.eventually(lambda: [a for a in slack.fake.of("chat.update") if "怎么换开" in
                                    json.dumps(a.get("blocks"), ensure_ascii=False)])
    assert (await _submit(slack, LEAD, view, {"title": "旧标题", "visibility": "public"})).status == 200
    await slack.eventually(lambda: [a for a in slack.fake.of("chat.postEphemeral") if a.get("user") == LEAD
                                    and "Alice Wang" in a.get("text", "")])

    card = [c for c in slack.triage_cards() if "tb:article:edit" in card_text(c)][0]
    await slack.press(LEAD, card, action_id(card, "edit"))
    view = _view((await slack.eventually(lambda: slack.fake.of("views.open")[1:]))[0])
    assert (await _submit(slack, LEAD, view, {"title": "发票抬头错了怎么换开", "visibility": "public"},
                          view_id="V2")).status == 200
    await slack.eventually(lambda: [a for a in slack.fake.of("chat.postEphemeral") if a.get("user") == LEAD
                                    and "第 3 版" in a.get("text", "")])
    async with slack.client.app[SERVICES].store.unit() as uow:
        article = await uow.kb.get_article(1)
    assert (article.version, article.title, article.visibility) == (3, "发票抬头错了怎么换开", "public")


async def test_new_without_a_title_opens_the_intake_form_in_any_of_its_words(slack):
    await slack.command(ALICE, "新建")
    [opened] = await slack.eventually(lambda: slack.fake.of("views.open"))
    view = _view(opened)
    assert view["callback_id"] == "ticket_new" and view["title"]["text"] == "New ticket"
    response = await _submit(slack, ALICE, view, {"title": "VPN drops every hour", "priority": "P1"})
    assert response.status == 200
    card = (await slack.eventually(slack.triage_cards))[0]
    assert "VPN drops every hour" in card_text(card)
