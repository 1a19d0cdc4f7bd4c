"""The worker loop that checks sender domains' DNS records again, so a domain whose records change (published at
last, or removed) changes status without anyone asking."""

from __future__ import annotations

import logging
import threading

from crm_mailer.domains import service
from crm_mailer.domains.service import Domains
from crm_platform.service import Runtime

log = logging.getLogger(__name__)

IDLE_SECONDS = 5.0  # between looks for due domains when none was due


def recheck_forever(rt: Runtime, stop: threading.Event) -> None:
    domains = Domains.of(rt)  # a missing encryption key in production stops the worker here, at start
    lookup = domains.config.lookup()
    checked = rt.metrics.counter("sender_domain_checks_total", "DNS checks of sender domains' records.")
    while not stop.is_set():
        try:
            count = service.recheck_due(rt.database, lookup, domains.config)
        except Exception:
            log.exception("checking sender domains failed; retrying")
            stop.wait(IDLE_SECONDS)
            continue
        checked.inc(count)
        if not count:
            stop.wait(IDLE_SECONDS)
