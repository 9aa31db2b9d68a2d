"""The dispatcher's table of card kinds: how each kind of subject is loaded and shown."""

from __future__ import annotations

from collections.abc import Sequence

from bot.attachments import ContentStore
from bot.config import AppConfig
from bot.directory import Directory
from bot.ports import Clock, UnitOfWork
from bot.sla import SlaPolicy
from bot.subjects import SubjectKind
from cards.alert import AlertCards
from cards.article import ArticleCards
from cards.digest import DigestCards
from cards.kb_offer import OfferCards, OfferView
from cards.request import RequestCards, RequestView
from cards.survey import SurveyCards, SurveyView
from cards.ticket import TicketCards, TicketView
from schedules.files import file_kind
from schedules.sending import CardKind


async def _load_tickets(uow: UnitOfWork, ids: Sequence[int]):
    """Tickets with their open requests (the card says who is asked what, by when)."""
    tickets = await uow.get_tickets(ids)
    asked = await uow.open_requests_of(list(tickets))
    rated = await uow.surveys().latest_of_tickets(list(tickets))  # the customer's rating, shown to staff
    similar = await uow.kb_suggestions().of_tickets(list(tickets))  # articles to send, on the triage card
    return {ticket_id: TicketView(ticket, tuple(asked.get(ticket_id, ())), rated.get(ticket_id),
                                  tuple(similar.get(ticket_id, ())))
            for ticket_id, ticket in tickets.items()}


async def _load_figures(uow: UnitOfWork, ids: Sequence[int]):
    return await uow.digests().load(ids)


def _kept_chart(record, platform: str) -> str | None:
    return record.chart_refs.get(platform)


async def _keep_chart(store, record, platform: str, ref: str) -> None:
    # In memory too: the other copies of this batch were loaded before the upload.
    record.chart_refs[platform] = ref
    async with store.unit() as uow:
        await uow.digests().keep_chart_ref(record.id, platform, ref)


async def _load_requests(uow, ids: Sequence[int]):
    """Requests with their tickets (the card shows both)."""
    requests = [request for request_id in ids if (request := await uow.get_request(request_id)) is not None]
    tickets = await uow.get_tickets(sorted({request.ticket_id for request in requests}))
    return {request.id: RequestView(request, tickets[request.ticket_id]) for request in requests
            if request.ticket_id in tickets}


async def _load_surveys(uow, ids: Sequence[int]):
    """Surveys with their tickets (the card names the ticket)."""
    surveys = await uow.surveys().load(ids)
    tickets = await uow.get_tickets(sorted({survey.ticket_id for survey in surveys.values()}))
    return {survey_id: SurveyView(survey, tickets[survey.ticket_id]) for survey_id, survey in surveys.items()
            if survey.ticket_id in tickets}


async def _load_alerts(uow, ids: Sequence[int]):
    return await uow.alerts().load(ids)


async def _load_articles(uow, ids: Sequence[int]):
    """Knowledge-base articles (a draft's card, with its Edit button)."""
    return {article_id: article for article_id in ids if (article := await uow.kb.get_article(article_id)) is not None}


async def _load_offers(uow, ids: Sequence[int]):
    """Offers with their tickets and the articles offered (as they read now)."""
    offers = await uow.kb_offers().load(ids)
    tickets = await uow.get_tickets(sorted({offer.ticket_id for offer in offers.values()}))
    views = {}
    for offer_id, offer in offers.items():
        articles = [article for article_id in offer.article_ids
                    if (article := await uow.kb.get_article(article_id)) is not None]
        if offer.ticket_id in tickets:
            views[offer_id] = OfferView(offer, tickets[offer.ticket_id], tuple(articles))
    return views


def card_kinds(*, directory: Directory, config: AppConfig, policy: SlaPolicy | None,
               clock: Clock, content: ContentStore | None = None) -> dict[SubjectKind, CardKind]:
    """One entry per kind of subject with a card; a new kind adds its loader and card builder here (and the files
    the outbox sends are loaded here too, from the content store)."""
    tickets = TicketCards(directory=directory, categories=config.categories, policy=policy, clock=clock)
    requests = RequestCards(directory=directory, clock=clock, timezone=config.business_hours.timezone)
    kinds = {SubjectKind.TICKET: CardKind(load=_load_tickets, build=tickets.build),
             SubjectKind.REQUEST: CardKind(load=_load_requests, build=requests.build),
             SubjectKind.DIGEST: CardKind(load=_load_figures, build=DigestCards(directory).build,
                                          image_ref=_kept_chart, keep_image_ref=_keep_chart),
             SubjectKind.ARTICLE: CardKind(load=_load_articles, build=ArticleCards().build),
             SubjectKind.SURVEY: CardKind(load=_load_surveys, build=SurveyCards(
                 clock=clock, change_minutes=config.csat.change_minutes).build),
             SubjectKind.ALERT: CardKind(load=_load_alerts, build=AlertCards(
                 directory=directory, timezone=config.business_hours.timezone).build),
             SubjectKind.KB_OFFER: CardKind(load=_load_offers, build=OfferCards().build)}
    if content is not None:
        kinds[SubjectKind.ATTACHMENT] = file_kind(content)
    return kinds
