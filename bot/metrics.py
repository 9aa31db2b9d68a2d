"""What the running bot counts, for `/metrics` (Prometheus text format) and the logs.

Counters are process-wide (each replica exposes its own); the outbox's backlog is read from the database when
scraped, so every replica reports the same shared figures.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge

REGISTRY = CollectorRegistry()

OUTBOX_SENT = Counter("ticketbot_outbox_sent", "Messages and card updates delivered", ["platform"],
                      registry=REGISTRY)
OUTBOX_RETRIED = Counter("ticketbot_outbox_retried", "Failed attempts that will be retried", ["platform"],
                         registry=REGISTRY)
OUTBOX_POSTPONED = Counter("ticketbot_outbox_postponed", "Sends postponed by a platform's rate limit (no attempt spent)",
                           ["platform"], registry=REGISTRY)
OUTBOX_DEAD = Counter("ticketbot_outbox_given_up", "Messages given up (a permanent error, or the retry budget spent)",
                      ["platform"], registry=REGISTRY)
OUTBOX_UNSENT = Gauge("ticketbot_outbox_unsent_rows", "Outbox rows waiting to be sent (all replicas)", registry=REGISTRY)
OUTBOX_DEAD_ROWS = Gauge("ticketbot_outbox_dead_rows", "Outbox rows given up and not retried since (all replicas)",
                         registry=REGISTRY)
