"""The inbound pipeline's counters, with fixed label sets (every value exported as 0 from the start)."""

from __future__ import annotations

from prometheus_client import Counter

from crm_mailer.inbound.models import STATUSES
from crm_mailer.inbound.parse import DEFECTS, QUARANTINE_REASONS
from crm_platform.metrics import ServiceMetrics

CHANNELS = ("smtp", "http")
KINDS = ("bounce", "delivery_notice", "complaint", "unsubscribe", "auto_reply", "person")
REFUSALS = ("unknown_recipient", "try_later", "too_many_recipients")  # 552 (too large) is aiosmtpd's own answer
DROPS = ("no_workspace", "no_sender", "blocked_contact")
RULES = ("reply_token", "references", "ticket_number", "subject", "new")
BOUNCE_KINDS = ("hard", "mailbox_full", "soft")
QUARANTINES = (*QUARANTINE_REASONS, "dmarc_reject")


def _counter(metrics: ServiceMetrics, what: str, doc: str, label: str, values: tuple[str, ...]) -> Counter:
    counter = metrics.counter(what, doc, (label,))
    for value in values:
        counter.labels(value)
    return counter


class InboundMetrics:
    def __init__(self, metrics: ServiceMetrics) -> None:
        self.received = _counter(metrics, "inbound_received_total", "Inbound mail stored.", "channel", CHANNELS)
        self.refused = _counter(
            metrics,
            "inbound_refused_total",
            "Inbound mail or recipients refused in the SMTP session.",
            "reason",
            REFUSALS,
        )
        self.processed = _counter(metrics, "inbound_processed_total", "Inbound mail processed.", "status", STATUSES)
        self.kinds = _counter(metrics, "inbound_kinds_total", "Inbound mail by kind.", "kind", KINDS)
        self.quarantined = _counter(
            metrics, "inbound_quarantined_total", "Inbound mail quarantined.", "reason", QUARANTINES
        )
        self.dropped = _counter(metrics, "inbound_dropped_total", "Inbound mail dropped.", "reason", DROPS)
        self.routed = _counter(metrics, "inbound_routed_total", "People's mail routed, by rule.", "rule", RULES)
        self.bounces = _counter(metrics, "inbound_bounces_total", "Bounces read, by kind.", "kind", BOUNCE_KINDS)
        self.defects = _counter(
            metrics, "inbound_defects_total", "Defects found parsing inbound mail.", "defect", DEFECTS
        )
