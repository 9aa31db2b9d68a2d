"""The self-service card in a customer's conversation: public articles that may help, This solved it, I still need help."""

from __future__ import annotations

from dataclasses import dataclass

from bot.i18n import translator
from bot.kb import Article
from bot.kb_card import Offer, OfferAnswer
from bot.subjects import Viewer
from bot.text import fit_text
from bot.tickets import Ticket
from cards import actions
from cards.model import Button, Card, Field

SOLVED, HELP = "solved", "help"  # the card's two actions
EXCERPT = 300  # of each article's solution: enough to act on, short enough for a chat card


@dataclass(frozen=True)
class OfferView:
    """What an offer's card shows: the offer, its ticket and the articles as they read now."""

    offer: Offer
    ticket: Ticket
    articles: tuple[Article, ...]

    @property
    def subject(self):
        """The offer's subject."""
        return self.offer.subject


def answers_hint(t) -> str:
    """How to answer by typing, for customers whose surface has no buttons (微信客服, a DingTalk outsider)."""
    return t._("1 = this solved it, 2 = I still need help")


class OfferCards:
    """Builds offer cards at send time: the buttons until the customer answered."""

    def build(self, view: OfferView, viewer: Viewer, language: str) -> Card:
        """The offer's card in the customer's language (the customer is its only viewer)."""
        return offer_card(view, translator(language))


def offer_card(view: OfferView, t) -> Card:
    """The articles with a passage of their solution, then the two answers (or what became of the ticket)."""
    offer, ticket = view.offer, view.ticket
    fields = [Field(f"{rank}. {article.number} {article.title}", fit_text(article.solution or article.problem, EXCERPT))
              for rank, article in enumerate(view.articles, start=1)]
    buttons: tuple[Button, ...] = ()
    # The answer is a field, not the footer: every surface shows fields (WeCom's template card has no footer).
    if offer.answer is None:
        buttons = (Button(t._("This solved it"), actions.encode(offer.subject, SOLVED, 1), "primary"),
                   Button(t._("I still need help"), actions.encode(offer.subject, HELP, 1)))
        # A field, not the footer: every surface shows fields, even where buttons are dropped.
        fields.append(Field(t._("Or reply with a number"), answers_hint(t)))
    elif offer.answer is OfferAnswer.SOLVED:
        fields.insert(0, Field(t._("Your answer"), t._(
            "Glad it helped: {number} is resolved. Just write here if you need anything else.", number=ticket.number)))
    else:
        fields.insert(0, Field(t._("Your answer"), t._("Our team has your ticket {number} and will answer you here.",
                                                       number=ticket.number)))
    return Card(title=t._("These articles may help"), subtitle=f"{ticket.number} · {ticket.title}",
                fields=tuple(fields), actions=buttons, subject=offer.subject, version=1,
                language=t.language)
