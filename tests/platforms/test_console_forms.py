"""The console's forms through its API, as the page uses it: a press answers with the form, /console/api/form
checks (422 with the errors in the persona's language) and delivers once."""

from __future__ import annotations

import html
import re

from bot.app import SERVICES
from tests.platforms.console_world import messages, send
from tests.waiting import eventually


async def _request_card(console) -> dict:
    """王记小店's invoice question, asked of Finance by Alice: 赵会计's request card in his DM."""
    await send(console, "wang-store", "wang-store", "发票金额不对")
    await eventually(lambda: _cards(console, "alice", "tb:ticket:"))
    await send(console, "alice", "triage", "/ticket ask T-000001 @finance 请核对发票金额 截止 2h")
    return (await eventually(lambda: _cards(console, "zhao", "tb:request:answer")))[-1]


async def _cards(console, viewer: str, marker: str) -> list[dict]:
    return [m for m in await messages(console, viewer) if m["card"] and marker in m["html"]]


async def _press(console, who: str, conversation: str, card: dict, verb: str) -> dict:
    action = re.search(rf'data-action="(tb:\w+:{verb}:\d+:\d+)"', card["html"]).group(1)
    response = await console.post("/console/api/press", json={"as": who, "conversation": conversation,
                                                              "ref": card["ref"], "action": action})
    assert response.status == 200
    return await response.json()


def _form_of(answer: dict) -> dict:
    shown = answer["form"]["html"]
    subject, version = re.search(r'data-subject="(\d+)" data-version="(\d+)"', shown).groups()
    return {"form": answer["form"]["kind"], "subject": int(subject), "version": int(version)}


async def _answers(console) -> list[str]:
    async with console.app[SERVICES].store.unit() as uow:
        return [e.text for e in await uow.timeline(1) if e.kind == "request" and e.detail["event"] == "answered"]


async def test_answer_form_round_trip(console):
    card = await _request_card(console)
    answer = await _press(console, "zhao", "zhao", card, "answer")
    shown = html.unescape(answer["form"]["html"])
    assert "答复 R-000001" in shown and "请核对发票金额" in shown and "提交答复" in shown
    form = _form_of(answer)

    bad = await console.post("/console/api/form", json={"as": "zhao", "conversation": "zhao", **form,
                                                        "fields": {"answer": "   "}, "id": "f1"})
    assert bad.status == 422 and (await bad.json())["errors"] == {"answer": "请填写“您的答复”。"}
    assert await _answers(console) == [], "nothing changed"

    body = {"as": "zhao", "conversation": "zhao", **form, "fields": {"answer": "金额无误", "attachment": "见对账单"},
            "id": "f2"}
    first = await console.post("/console/api/form", json=body)
    again = await console.post("/console/api/form", json=body)  # the page sent it twice
    assert (await first.json()) == {"ok": True, "duplicate": False}
    assert (await again.json()) == {"ok": True, "duplicate": True}
    assert await _answers(console) == ["金额无误\n📎 见对账单"]
    await eventually(lambda: _cards(console, "zhao", "已答复"))


async def test_errors_speak_the_personas_language_and_bad_bodies_are_refused(console):
    await send(console, "wang-store", "wang-store", "发票抬头写错了")
    await eventually(lambda: _cards(console, "alice", "tb:ticket:"))
    await send(console, "linfang", "triage", "/ticket resolve T-000001 已换开")
    await send(console, "alice", "triage", "/ticket kb save T-000001")
    card = (await eventually(lambda: _cards(console, "alice", "tb:article:edit")))[-1]
    form = _form_of(await _press(console, "alice", "triage", card, "edit"))

    response = await console.post("/console/api/form", json={"as": "alice", "conversation": "triage", **form,
                                                             "fields": {"title": "x", "visibility": "public"}})
    assert response.status == 422
    assert (await response.json())["errors"] == {"visibility": "Only a lead may make an article public."}
    response = await console.post("/console/api/form", json={"as": "alice", "conversation": "triage", **form,
                                                             "fields": {"title": "x", "category": "nonsense",
                                                                        "visibility": "internal"}})
    assert (await response.json())["errors"] == {"category": "Choose one of the offered options."}
    for body in ({"as": "alice", "conversation": "triage", **form, "fields": "title"},
                 {"as": "alice", "conversation": "triage", **form, "subject": -1, "fields": {}},
                 {"as": "nobody", "conversation": "triage", **form, "fields": {}}):
        assert (await console.post("/console/api/form", json=body)).status == 400
    async with console.app[SERVICES].store.unit() as uow:
        assert (await uow.kb.get_article(1)).version == 1, "nothing saved"

    # A customer pressing Edit (a forged press) gets no form, and is told why.
    answer = await _press(console, "wang-store", "wang-store", card, "edit")
    assert "form" not in answer
    told = await eventually(lambda: _texts(console, "wang-store", "知识库"))
    assert told


async def _texts(console, viewer: str, fragment: str) -> list[str]:
    return [html.unescape(m["html"]) for m in await messages(console, viewer)
            if m["bot"] and not m["card"] and fragment in html.unescape(m["html"])]
