"""What the sender's authentication says, according to the one relay we trust, and what follows from it.

Authentication-Results (RFC 8601) are only believed from the relay named by ``MAILER_INBOUND_AUTHSERV_ID``:
anyone can write the header, so one with another authserv-id says nothing. A message that fails DMARC for a
domain that publishes ``p=reject`` is quarantined instead of being appended as the contact's reply."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from crm_mailer.inbound import authresults
from crm_mailer.inbound.message import InboundMessage

METHODS = ("spf", "dkim", "dmarc")
_POLICY_COMMENT = re.compile(r"\bdmarc\s*=\s*fail\b[^;]*?\(\s*[^)]*\bp\s*=\s*reject\b", re.IGNORECASE)


@dataclass(frozen=True)
class AuthVerdict:
    trusted_by: str | None  # the authserv-id whose results these are; None: no trusted header
    results: dict[str, str] = field(default_factory=dict)  # method -> result (pass, fail, none, ...)
    dmarc_policy: str | None = None  # the published policy the relay recorded (none, quarantine, reject)

    @property
    def rejects(self) -> bool:
        """DMARC failed for a domain that asks receivers to reject what fails it."""
        return self.results.get("dmarc") == "fail" and self.dmarc_policy == "reject"

    @property
    def summary(self) -> str:
        return " ".join(f"{method}={self.results[method]}" for method in METHODS if method in self.results)

    def as_dict(self) -> dict[str, object]:
        return {"trusted_by": self.trusted_by, "results": dict(self.results), "dmarc_policy": self.dmarc_policy}


def verdict_of(message: InboundMessage, *, authserv_id: str | None) -> AuthVerdict:
    """The first Authentication-Results header of the trusted relay (the top one is the nearest hop)."""
    if not authserv_id:
        return AuthVerdict(None)
    wanted = authserv_id.strip().lower()
    for header in message.authentication_results:
        found = [r for r in authresults.parse(header) if r.authserv_id.lower() == wanted]
        if not found:
            continue
        results: dict[str, str] = {}
        policy: str | None = None
        for result in found:
            results.setdefault(result.method, result.result)
            if result.method == "dmarc" and policy is None:
                props = dict(result.properties)
                policy = props.get("policy.published-domain-policy") or props.get("policy.p")
        if policy is None and _POLICY_COMMENT.search(header):
            policy = "reject"  # OpenDMARC and Gmail: dmarc=fail (p=REJECT sp=REJECT dis=NONE)
        return AuthVerdict(wanted, results, policy.lower() if policy else None)
    return AuthVerdict(None)
