"""The knowledge base in chat: search, save a ticket's solution as a draft, suggest and send articles, publish."""

from __future__ import annotations

from bot.i18n import guess_language
from bot.kb import (
    Article,
    ArticleDraft,
    ArticleStatus,
    ArticleVisibility,
    Audience,
    SearchRequest,
    format_article_number,
)
from bot.subjects import Viewer
from bot.tickets import Status, Ticket, TimelineKind, format_number
from handlers import changes, lifecycle
from handlers.form_article import tags_of
from handlers.kb_commands import KbEdit, KbPublish, KbRequest, KbSave, KbSearch, KbSend, KbShow, KbSuggest
from handlers.notify import post_card, refresh_cards
from handlers.turn import Turn

RESULTS = 5  # search results per answer: a chat message, not a page
SUGGESTIONS = 3
SNIPPET = 120
TICKET_KEY = "ticket-{id}"  # the key of the draft saved from a ticket: saving twice finds the first


async def run(turn: Turn, request: KbRequest) -> None:
    """Carry out one knowledge-base request and answer the person who asked."""
    match request:
        case KbSearch(words=words):
            await _answer(turn, await search_text(turn, words))
        case KbSave(ticket_id=ticket_id):
            await save(turn, ticket_id)
        case KbSuggest(ticket_id=ticket_id):
            await suggest(turn, ticket_id)
        case KbSend(ticket_id=ticket_id, article_id=article_id):
            await send(turn, ticket_id, article_id)
        case KbShow(article_id=article_id):
            await show(turn, article_id)
        case KbPublish(article_id=article_id, visibility=visibility):
            await publish(turn, article_id, ArticleVisibility(visibility))
        case KbEdit(article_id=article_id, field=field, text=text):
            await edit(turn, article_id, field, text)


async def _answer(turn: Turn, text: str) -> None:
    await turn.answer(text)


def _marks(turn: Turn, article: Article) -> str:
    t, marks = turn.t, []
    if article.status is ArticleStatus.DRAFT:
        marks.append(t._("draft"))
    if article.visibility is ArticleVisibility.INTERNAL:
        marks.append(t._("internal"))
    return f" ({', '.join(marks)})" if marks else ""


def _request(turn: Turn, text: str, **options) -> SearchRequest:
    audience = Audience.CUSTOMER if turn.person.is_customer else Audience.STAFF
    return SearchRequest(text=text, audience=audience, language=turn.t.language,
                         synonyms=turn.ctx.config.kb.synonym_groups(), **options)


async def search_text(turn: Turn, words: str) -> str:
    """Ranked articles for `words` (a customer's: public ones only), each with the passage that matched."""
    t = turn.t
    async with turn.ctx.store.snapshot() as view:
        hits = await view.kb.search_articles(_request(turn, words, limit=RESULTS))
    if not hits:
        return t._("No article matches “{words}”.", words=words)
    lines = [t._("Articles for “{words}”:", words=words)]
    for rank, hit in enumerate(hits, start=1):
        marks = "" if turn.person.is_customer else _marks(turn, hit.article)
        lines.append(f"{rank}. {hit.article.number} {hit.article.title}{marks}")
        if hit.snippet:
            lines.append(f"   {hit.snippet}")
    if not turn.person.is_customer:
        lines.append(t._("Read one: /ticket kb show KB-12"))
    return "\n".join(lines)


def _staff_only(turn: Turn) -> str | None:
    if turn.person.is_staff:
        return None
    return turn.t._("Only agents and leads can do that with the knowledge base.")


async def save(turn: Turn, ticket_id: int) -> None:
    """Draft an article from a ticket: its title, the customer's first message, the resolution and the replies."""
    t = turn.t
    if refusal := _staff_only(turn):
        await _answer(turn, refusal)
        return
    async with turn.ctx.store.unit() as uow:
        ticket = await uow.get_ticket(ticket_id)
        existing = await uow.kb.find_article_by_key(TICKET_KEY.format(id=ticket_id)) if ticket else None
        if ticket is None:
            text = t._("There is no ticket {number}.", number=format_number(ticket_id))
        elif existing is not None:
            text = t._("{number} is already saved as {article}: {title}", number=ticket.number,
                       article=existing.number, title=existing.title)
            await post_card(uow, existing, turn.conversation, viewer=Viewer.STAFF, language=t.language)
        else:
            draft = draft_from_ticket(ticket, await uow.timeline(ticket.id), fallback_language=t.language)
            article = await uow.kb.add_article(draft, author=turn.person.key)
            text = t._("Draft {article} saved from {number}: {title}. A lead publishes it with "
                       "/ticket kb publish {article} public", article=article.number, number=ticket.number,
                       title=article.title)
            # The draft's card, with its Edit button, where it was saved (a form where the platform has one).
            await post_card(uow, article, turn.conversation, viewer=Viewer.STAFF, language=t.language)
        await turn.reply(uow, text, private=True)
        await turn.finish(uow)


def draft_from_ticket(ticket: Ticket, timeline, *, fallback_language: str) -> ArticleDraft:
    """The draft a ticket suggests: the customer's first words as the problem, how it was solved as the solution."""
    customer = [entry.text for entry in timeline if entry.kind == TimelineKind.CUSTOMER_MESSAGE and entry.text]
    problem = customer[0] if customer else (ticket.description or ticket.title)
    summaries = [entry.text for entry in timeline if entry.kind == TimelineKind.STATUS
                 and entry.after == Status.RESOLVED.value and entry.text]
    replies = [entry.text for entry in timeline if entry.kind == TimelineKind.REPLY and entry.text]
    solution = "\n\n".join(part for part in (summaries[-1] if summaries else "",
                                             "\n".join(f"- {reply}" for reply in replies)) if part)
    return ArticleDraft(
        title=ticket.title, problem=problem, solution=solution, category=ticket.category,
        product_module=ticket.product_module or "", tags=tuple(ticket.tags), visibility=ArticleVisibility.INTERNAL,
        language=ticket.customer_language or guess_language(problem) or fallback_language,
        status=ArticleStatus.DRAFT, source_tickets=(ticket.id,), key=TICKET_KEY.format(id=ticket.id))


async def suggest(turn: Turn, ticket_id: int) -> None:
    """Up to three published articles related to a ticket, with how to send one to its customer."""
    t = turn.t
    if refusal := _staff_only(turn):
        await _answer(turn, refusal)
        return
    async with turn.ctx.store.snapshot() as view:
        ticket = await view.get_ticket(ticket_id)
        timeline = await view.timeline(ticket_id) if ticket else []
        question = " ".join([ticket.title, ticket.description or "",
                             *(e.text or "" for e in timeline if e.kind == TimelineKind.CUSTOMER_MESSAGE)][:4]) \
            if ticket else ""
        hits = await view.kb.search_articles(_request(turn, question, limit=SUGGESTIONS, published_only=True)) \
            if ticket else []
    if ticket is None:
        await _answer(turn, t._("There is no ticket {number}.", number=format_number(ticket_id)))
        return
    if not hits:
        await _answer(turn, t._("No article looks like {number}.", number=ticket.number))
        return
    lines = [t._("Similar to {number}:", number=ticket.number)]
    lines += [f"• {hit.article.number} {hit.article.title}{_marks(turn, hit.article)}" for hit in hits]
    lines.append(t._("Send one to the customer: /ticket kb send {number} {article}", number=ticket.number,
                     article=hits[0].article.number))
    await _answer(turn, "\n".join(lines))


async def send(turn: Turn, ticket_id: int, article_id: int) -> None:
    """Send a public article to the ticket's customer: a reply like any other, the article recorded with it."""
    t = turn.t
    async with turn.ctx.store.snapshot() as view:
        article = await view.kb.get_article(article_id)
    if article is None or (turn.person.is_customer and not article.visible_to(Audience.CUSTOMER)):
        await _answer(turn, t._("There is no article {article}.", article=format_article_number(article_id)))
        return
    if not article.visible_to(Audience.CUSTOMER):
        await _answer(turn, t._("{article} is not a published public article, so it cannot go to a customer.",
                                article=article.number))
        return
    reply = changes.reply(turn, f"{article.title} ({article.number})\n{article.solution}".strip())

    def build(ticket: Ticket):
        change = reply(ticket)
        change.detail = {"article": article.number}  # the timeline records which article answered

        async def sent(uow, saved: Ticket) -> None:  # the triage card shows it sent (if it was suggested there)
            await uow.kb_suggestions().mark_sent(saved.id, article.id, turn.ctx.clock.now())
        change.followups.append(sent)
        return change
    await lifecycle.change_ticket(turn, ticket_id, build)


async def show(turn: Turn, article_id: int) -> None:
    """An article in full: problem, solution, version and ratings (a customer: public published ones only)."""
    t = turn.t
    async with turn.ctx.store.snapshot() as view:
        article = await view.kb.get_article(article_id)
    if article is None or (turn.person.is_customer and not article.visible_to(Audience.CUSTOMER)):
        await _answer(turn, t._("There is no article {article}.", article=format_article_number(article_id)))
        return
    marks = "" if turn.person.is_customer else _marks(turn, article)
    lines = [f"{article.number} {article.title}{marks}"]
    if article.problem:
        lines += [t._("Problem:"), article.problem]
    if article.solution:
        lines += [t._("Solution:"), article.solution]
    if not turn.person.is_customer:
        lines.append(t._("Version {version} · helpful {helpful} · not helpful {not_helpful}",
                         version=article.version, helpful=article.helpful, not_helpful=article.not_helpful))
    await _answer(turn, "\n".join(lines))


async def publish(turn: Turn, article_id: int, visibility: ArticleVisibility) -> None:
    """A lead publishes an article, public (customers may see it) or internal; a new version records who did."""
    t = turn.t
    if not turn.person.has("lead", "manager"):
        await _answer(turn, t._("Only a lead can publish articles."))
        return
    async with turn.ctx.store.unit() as uow:
        article = await uow.kb.set_visibility(article_id, visibility, status=ArticleStatus.PUBLISHED,
                                              author=turn.person.key)
        if article is not None:
            await refresh_cards(uow, article)
        if article is None:
            text = t._("There is no article {article}.", article=format_article_number(article_id))
        elif visibility is ArticleVisibility.PUBLIC:
            text = t._("{article} is published: customers can find it now.", article=article.number)
        else:
            text = t._("{article} is published for staff only.", article=article.number)
        await turn.reply(uow, text, private=True)
        await turn.finish(uow)


async def edit(turn: Turn, article_id: int, field: str, text: str) -> None:
    """Staff rewrite an article's title, problem or solution: a new version, the old one kept."""
    t = turn.t
    if refusal := _staff_only(turn):
        await _answer(turn, refusal)
        return
    async with turn.ctx.store.unit() as uow:
        article = await uow.kb.get_article(article_id)
        if article is None:
            answer = t._("There is no article {article}.", article=format_article_number(article_id))
        else:
            fields = {name: getattr(article, name) for name in ArticleDraft.__dataclass_fields__}
            fields[field] = tags_of(text) if field == "tags" else text.strip()
            edited = await uow.kb.edit_article(article_id, ArticleDraft(**fields), author=turn.person.key)
            await refresh_cards(uow, edited)  # the article's card (its Edit button) shows the new version
            answer = t._("{article} saved as version {version}.", article=edited.number, version=edited.version)
        await turn.reply(uow, answer, private=True)
        await turn.finish(uow)
