"""Our own check of a sender's authentication: SPF (pyspf) for the SMTP client, DKIM (dkimpy) for each
signature, and DMARC (``dmarc.py``) for the From domain, all with DNS read through ``resolver.py``.

A DNS server that does not answer in time makes that method ``temperror``: never an exception, never a reason
to quarantine. SPF is checked only when the SMTP client's address is known (the listener's peer, or what a
posting relay says); a message a trusted relay already checked is its word for SPF (the peer we saw is that
relay, not the sender)."""

from __future__ import annotations

import ipaddress
import logging
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import dkim
import spf

from crm_mailer.inbound import dmarc
from crm_mailer.inbound.message import InboundMessage
from crm_mailer.inbound.resolver import CachingResolver, DnsTempError

log = logging.getLogger(__name__)
_quiet = logging.getLogger("crm_mailer.inbound.authcheck.dkimpy")  # dkimpy logs every bad signature as an error
_quiet.setLevel(logging.CRITICAL)
MAX_SIGNATURES = 5  # DKIM signatures verified per message; more are not looked at (each costs a lookup)
SPF_DEADLINE_SECONDS = 20.0  # all lookups of one SPF check (RFC 7208 4.6.4)


@dataclass(frozen=True)
class OwnResults:
    """What we found: method -> result (RFC 8601 words), and what each result is about."""

    results: dict[str, str] = field(default_factory=dict)
    dmarc_policy: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


# --- pyspf reads DNS through a module-level function; ours answers from the resolver bound for this check ---
_bound: ContextVar[CachingResolver | None] = ContextVar("crm_mailer_spf_resolver", default=None)
_pyspf_lookup = spf.DNSLookup


def _spf_lookup(name: str, qtype: str, strict: bool = True, timeout: float = 20) -> list[tuple[Any, Any]]:
    resolver = _bound.get()
    if resolver is None:  # somebody else's use of pyspf in this process
        return _pyspf_lookup(name, qtype, strict, timeout)  # type: ignore[no-any-return]
    try:
        records = resolver.records(name, qtype)
    except DnsTempError as exc:
        raise spf.TempError(f"DNS {exc}") from exc
    found: list[tuple[Any, Any]] = []
    for rdata in records:
        if qtype in ("A", "AAAA"):
            found.append(((name, qtype), rdata.address))
        elif qtype == "MX":
            found.append(((name, qtype), (rdata.preference, rdata.exchange)))
        elif qtype == "PTR":
            found.append(((name, qtype), rdata.target.to_text(True)))
        elif qtype in ("TXT", "SPF"):
            found.append(((name, qtype), rdata.strings))
    return found


spf.DNSLookup = _spf_lookup


def domain_of(address: str | None) -> str | None:
    if not address or "@" not in address:
        return None
    return address.strip().strip("<>").rsplit("@", 1)[1].rstrip(".").lower() or None


@dataclass
class Authenticator:
    resolver: CachingResolver
    timeout: float  # one lookup's deadline, as dkimpy is told

    def check(
        self,
        message: InboundMessage,
        *,
        client_ip: str | None,
        helo: str | None,
        relay_spf: tuple[str, str | None] | None = None,
    ) -> OwnResults:
        """SPF (unless ``relay_spf`` gives the trusted relay's result and domain), DKIM, then DMARC."""
        results: dict[str, str] = {}
        details: dict[str, Any] = {}
        spf_result: str | None = None
        spf_domain: str | None = None
        if relay_spf is not None:
            spf_result, spf_domain = relay_spf
        elif client_ip:
            spf_result, spf_domain, why = self.spf(client_ip, message.envelope.mail_from, helo)
            results["spf"] = spf_result
            details["spf"] = {"domain": spf_domain, "client_ip": client_ip, "why": why[:300]}
        if message.has_header("DKIM-Signature"):
            dkim_result, passed, dkim_details = self.dkim(message.raw)
        else:  # most mail: no need for dkimpy to read the message again
            dkim_result, passed, dkim_details = "none", (), []
        results["dkim"] = dkim_result
        details["dkim"] = dkim_details
        outcome = self.dmarc(
            message,
            spf_result=spf_result,
            spf_domain=spf_domain,
            dkim_domains=passed,
            unsure="temperror" in (spf_result, dkim_result),
        )
        results["dmarc"] = outcome.result
        details["dmarc"] = {"domain": outcome.domain, "policy": outcome.policy, "why": outcome.why}
        return OwnResults(results, outcome.policy, details)

    def spf(self, client_ip: str, mail_from: str | None, helo: str | None) -> tuple[str, str | None, str]:
        """pyspf's check2 for MAIL FROM (the HELO name for a null sender, as RFC 7208 2.4 says)."""
        try:
            ipaddress.ip_address(client_ip)
        except ValueError:
            return "none", None, f"not an IP address: {client_ip[:60]}"
        sender = (mail_from or "").strip().strip("<>")
        domain = domain_of(sender) or (helo or "").strip().rstrip(".").lower() or None
        if domain is None:
            return "none", None, "neither MAIL FROM nor HELO names a domain"
        token = _bound.set(self.resolver)
        try:
            result, why = spf.check2(
                i=client_ip, s=sender or f"postmaster@{domain}", h=helo or domain, querytime=SPF_DEADLINE_SECONDS
            )
        except Exception as exc:  # noqa: BLE001 - a library error on odd input is no reason to lose the message
            log.warning("SPF check of %s failed: %r", domain, exc)
            return "temperror", domain, f"{type(exc).__name__}"
        finally:
            _bound.reset(token)
        return str(result), domain, str(why)

    def dkim(self, raw: bytes) -> tuple[str, tuple[str, ...], list[dict[str, str]]]:
        """Every DKIM-Signature (up to ``MAX_SIGNATURES``): pass when one verifies; the domains (d=) that did."""
        try:
            verifier = dkim.DKIM(raw, logger=_quiet, timeout=self.timeout)
            count = sum(1 for name, _value in verifier.headers if name.lower() == b"dkim-signature")
        except Exception:  # noqa: BLE001 - headers dkimpy cannot read: no signature it can check
            return "none", (), []
        if not count:
            return "none", (), []
        passed: list[str] = []
        signatures: list[dict[str, str]] = []
        outcomes: list[str] = []
        for idx in range(min(count, MAX_SIGNATURES)):
            verifier.domain = None
            try:
                ok = verifier.verify(idx=idx, dnsfunc=self.resolver.txt_for_dkim)
                outcome = "pass" if ok else "fail"
            except DnsTempError:
                outcome = "temperror"
            except dkim.DKIMException:
                outcome = "permerror"
            except Exception:  # noqa: BLE001 - a malformed signature dkimpy trips on
                outcome = "permerror"
            domain = verifier.domain.decode("ascii", "replace").lower() if verifier.domain else ""
            signatures.append({"domain": domain, "result": outcome})
            outcomes.append(outcome)
            if outcome == "pass" and domain:
                passed.append(domain)
        for result in ("pass", "temperror", "fail", "permerror"):
            if result in outcomes:
                return result, tuple(passed), signatures
        return "fail", (), signatures

    def dmarc(
        self,
        message: InboundMessage,
        *,
        spf_result: str | None,
        spf_domain: str | None,
        dkim_domains: tuple[str, ...],
        unsure: bool = False,
    ) -> dmarc.DmarcOutcome:
        """``unsure``: SPF or DKIM met a DNS failure, so a failure now could be a pass later: temperror."""
        from_domain = domain_of(message.from_.email) if message.from_ is not None else None
        if from_domain is None:
            return dmarc.DmarcOutcome("none", why="no From domain")
        try:
            record_domain = from_domain
            found = dmarc.pick_record(self.resolver.txt(f"_dmarc.{from_domain}"))
            organisational = dmarc.organisational_domain(from_domain)
            if found is None and organisational != from_domain:
                record_domain = organisational
                found = dmarc.pick_record(self.resolver.txt(f"_dmarc.{organisational}"))
        except DnsTempError as exc:
            return dmarc.DmarcOutcome("temperror", domain=from_domain, why=str(exc))
        if found is None:
            return dmarc.DmarcOutcome("none", domain=from_domain, why="no DMARC record published")
        if found == "many":
            return dmarc.DmarcOutcome("permerror", domain=from_domain, why="more than one DMARC record")
        assert isinstance(found, dmarc.DmarcRecord)
        outcome = dmarc.evaluate(
            from_domain=from_domain,
            record=found,
            record_domain=record_domain,
            spf_result=spf_result,
            spf_domain=spf_domain,
            dkim_domains=dkim_domains,
        )
        if outcome.result == "fail" and unsure:
            why = "SPF or DKIM could not be checked (DNS did not answer): DMARC cannot fail for it"
            return dmarc.DmarcOutcome("temperror", outcome.policy, from_domain, why)
        return outcome
