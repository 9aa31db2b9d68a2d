"""The lifecycle as a reviewer reads it: every status × action and where it leads (shared by the table tests
of bot/tickets and by the handler tests that run every pair through the command path)."""

from __future__ import annotations

from bot.tickets import Status

N, T, I, WC, WL, R, C = (Status.NEW, Status.TRIAGED, Status.IN_PROGRESS, Status.WAITING_CUSTOMER,  # noqa: E741 (the matrix reads best with one letter per status)
                         Status.WAITING_COLLEAGUE, Status.RESOLVED, Status.CLOSED)
ACTIONS = ["claim", "assign", "priority", "category", "note", "reply", "wait_customer", "wait_colleague",
           "resume", "customer_message", "resolve", "close", "reopen", "ask"]
X = None  # not allowed

# One row per status; columns in ACTIONS order. This is the spec a reviewer reads, not a copy of the code.
EXPECTED = {
    #       claim assign priority category note reply wait_c wait_l resume cust_msg resolve close reopen ask
    N:     [I,    T,     T,       T,       N,   N,    X,     X,     X,     N,       R,      C,    X,     WL],
    T:     [I,    T,     T,       T,       T,   T,    WC,    WL,    X,     T,       R,      C,    X,     WL],
    I:     [I,    T,     I,       I,       I,   I,    WC,    WL,    X,     I,       R,      C,    X,     WL],
    WC:    [I,    WC,    WC,      WC,      WC,  WC,   X,     WL,    I,     I,       R,      C,    X,     WL],
    WL:    [I,    WL,    WL,      WL,      WL,  WL,   WC,    X,     I,     WL,      R,      C,    X,     WL],
    R:     [X,    X,     X,       X,       R,   R,    X,     X,     X,     T,       X,      C,    T,     X],
    C:     [X,    X,     X,       X,       C,   X,    X,     X,     X,     X,       X,      X,    T,     X],
}
