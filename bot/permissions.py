"""Who may do what: the permission matrix, checked before any change."""

from __future__ import annotations

from bot.directory import Person, Role
from bot.tickets import Action, Ticket

# Verbs that are not lifecycle actions but still need a permission decision.
VIEW = "view"
LIST = "list"
CREATE = "create"
STATS = "stats"

def _(msgid: str) -> str:
    """Mark a msgid for extraction; the handler translates it."""
    return msgid


_COLLEAGUE_MAY = {VIEW, LIST, Action.NOTE, Action.RESUME}
_CUSTOMER_MAY = {VIEW, LIST, CREATE, Action.CUSTOMER_MESSAGE, Action.REOPEN}


def _owns(person: Person, ticket: Ticket | None) -> bool:
    if ticket is None:
        return True
    ids = person.identities.get(ticket.requester.platform, ())
    return ticket.requester.user_id in ids


def denial(person: Person, verb: Action | str, ticket: Ticket | None = None, *, new_assignee: str | None = None) -> str | None:
    """None when `person` may do `verb` to `ticket`; otherwise the msgid explaining why not."""
    if person.has(Role.LEAD, Role.MANAGER):
        return None
    if person.has(Role.AGENT):
        if verb in (Action.CLAIM, Action.ASSIGN) and ticket and ticket.assignee:
            # Agents take free tickets or hand on their own; only leads move a colleague's ticket.
            taking_own = ticket.assignee == person.key
            if not taking_own and new_assignee != ticket.assignee:
                return _("Only a lead or manager can reassign a ticket that belongs to {assignee}.")
        return None
    if person.has(Role.COLLEAGUE):
        if verb in _COLLEAGUE_MAY:
            return None
        return _("Colleagues can view tickets and add notes; ask the support team to do that.")
    # Customers: only their own tickets, and only a few things.
    if verb not in _CUSTOMER_MAY:
        return _("Only the support team can do that.")
    if not _owns(person, ticket):
        return _("You can only see your own tickets.")
    return None
