"""What the sender's authentication says, according to our own checks and the one relay we trust, and what
follows from it.

Authentication-Results (RFC 8601) are only believed from the relay named by ``MAILER_INBOUND_AUTHSERV_ID``:
anyone can write the header, so one with another authserv-id says nothing. With ``MAILER_INBOUND_AUTH_CHECKS``
the mailer also checks SPF, DKIM and DMARC itself (``authcheck.py``); for each method the trusted relay's result,
when it gave one, is the one that counts (it saw the sender's connection and the message before any change),
ours otherwise. A message that fails DMARC for a domain that publishes ``p=reject`` is quarantined instead of
being appended as the contact's reply; a DNS failure (temperror) never is."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from crm_mailer.inbound import authresults
from crm_mailer.inbound.authcheck import OwnResults
from crm_mailer.inbound.message import InboundMessage

METHODS = ("spf", "dkim", "dmarc")
_POLICY_COMMENT = re.compile(r"\bdmarc\s*=\s*fail\b[^;]*?\(\s*[^)]*\bp\s*=\s*reject\b", re.IGNORECASE)


@dataclass(frozen=True)
class AuthVerdict:
    trusted_by: str | None  # the authserv-id whose results these are; None: no trusted header
    results: dict[str, str] = field(default_factory=dict)  # method -> result (pass, fail, none, ...)
    dmarc_policy: str | None = None  # the published policy the relay recorded (none, quarantine, reject)
    own: OwnResults | None = None  # our own checks, when they ran
    spf_domain: str | None = None  # what the relay's SPF result was about (smtp.mailfrom, else smtp.helo)

    @property
    def rejects(self) -> bool:
        """DMARC failed for a domain that asks receivers to reject what fails it."""
        return self.results.get("dmarc") == "fail" and self.dmarc_policy == "reject"

    @property
    def summary(self) -> str:
        return " ".join(f"{method}={self.results[method]}" for method in METHODS if method in self.results)

    def as_dict(self) -> dict[str, object]:
        found: dict[str, object] = {
            "trusted_by": self.trusted_by,
            "results": dict(self.results),
            "dmarc_policy": self.dmarc_policy,
        }
        if self.own is not None:
            found["own"] = {
                "results": dict(self.own.results),
                "dmarc_policy": self.own.dmarc_policy,
                "details": dict(self.own.details),
            }
        return found

    @property
    def relay_spf(self) -> tuple[str, str | None] | None:
        """The trusted relay's SPF result and its domain, for our DMARC check to align."""
        return (self.results["spf"], self.spf_domain) if self.trusted_by and "spf" in self.results else None


def combined(relay: AuthVerdict, own: OwnResults | None) -> AuthVerdict:
    """Per method the trusted relay's result when it gave one, else ours; the DMARC policy goes with the result."""
    if own is None:
        return relay
    results = {method: own.results[method] for method in METHODS if method in own.results}
    results.update({method: relay.results[method] for method in METHODS if method in relay.results})
    policy = relay.dmarc_policy if "dmarc" in relay.results else own.dmarc_policy
    return AuthVerdict(relay.trusted_by, results, policy, own, relay.spf_domain)


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
        spf_domain: str | None = None
        for result in found:
            results.setdefault(result.method, result.result)
            if result.method == "spf" and spf_domain is None:
                props = dict(result.properties)
                named = props.get("smtp.mailfrom") or props.get("smtp.helo") or ""
                spf_domain = named.rsplit("@", 1)[-1].strip().rstrip(".").lower() or None
            if result.method == "dmarc" and policy is None:
                props = dict(result.properties)
                policy = props.get("policy.published-domain-policy") or props.get("policy.p")
        if policy is None and _POLICY_COMMENT.search(header):
            policy = "reject"  # OpenDMARC and Gmail: dmarc=fail (p=REJECT sp=REJECT dis=NONE)
        return AuthVerdict(wanted, results, policy.lower() if policy else None, spf_domain=spf_domain)
    return AuthVerdict(None)
