"""Sender domain rules, no I/O: which domains a workspace may add, the DNS records it publishes, and what the
records found in DNS mean (each record's finding, then the domain's status)."""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from publicsuffixlist import PublicSuffixList

from crm_platform.errors import FieldError, InvalidInput, Phrase, msgid, phrase

FREE_MAIL_FILE = Path(__file__).with_name("freemail.txt")

# A domain's status: never checked, or still waiting for records; every record right; something wrong.
PENDING, VERIFIED, FAILED = "pending", "verified", "failed"
# A record's finding at the last check.
OK, MISSING, WRONG, UNKNOWN, UNCHECKED = "ok", "missing", "wrong", "unknown", "unchecked"

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_SPF_ALL = re.compile(r"^[+\-~?]?all$", re.IGNORECASE)
DMARC_POLICIES = ("none", "quarantine", "reject")


def _refuse(message: Phrase | str, code: str) -> InvalidInput:
    return InvalidInput(message, errors=[FieldError("domain", message, code)])


@functools.cache
def free_mail_domains() -> frozenset[str]:
    """The free-mail providers' domains, from the data file beside this module."""
    lines = FREE_MAIL_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines if line.strip() and not line.startswith("#"))


_SUFFIXES_LOCK = threading.Lock()


def _public_suffixes() -> PublicSuffixList:
    """The list the publicsuffixlist package ships (kept current by its releases), parsed once per process: the
    threads that ask at the same time wait for the one parsing it (a second or more of CPU) instead of each parsing
    their own."""
    with _SUFFIXES_LOCK:
        return _parsed_public_suffixes()


@functools.cache
def _parsed_public_suffixes() -> PublicSuffixList:
    return PublicSuffixList()


def normalise(raw: str) -> str:
    """``Acme.COM.`` -> ``acme.com``; an internationalised name becomes its ASCII (IDNA) form. Refuses what is not
    a domain name, saying why."""
    text = raw.strip().rstrip(".").lower()
    if "@" in text:
        raise _refuse(
            msgid("give the domain only, without the part before @ (example.com, not ana@example.com)"), "invalid"
        )
    if "/" in text or ":" in text:
        raise _refuse(msgid("give the domain only, without http:// or a path (example.com)"), "invalid")
    try:
        ascii_name = text.encode("idna").decode("ascii")
    except UnicodeError:
        ascii_name = ""
    labels = ascii_name.split(".")
    if (
        len(ascii_name) > 253
        or len(labels) < 2
        or not all(_LABEL.match(label) for label in labels)
        or labels[-1].isdigit()  # an IP address, not a name
    ):
        raise _refuse(phrase("{domain} is not a domain name such as example.com", domain=raw.strip()[:100]), "invalid")
    return ascii_name


def check_may_add(domain: str, *, platform_domain: str) -> None:
    """Refuse a (normalised) domain no workspace can own: a free-mail provider's, a public suffix, a top-level
    domain that does not exist, or the platform's own sending domain."""
    parents = [".".join(domain.split(".")[i:]) for i in range(domain.count(".") + 1)]
    if any(parent in free_mail_domains() for parent in parents):
        raise _refuse(
            phrase(
                "{domain} belongs to a free-mail provider (like gmail.com or outlook.com): anyone can get an "
                "address there, so it cannot be a sender domain; use a domain your organisation owns",
                domain=domain,
            ),
            "free_mail",
        )
    psl = _public_suffixes()
    if psl.publicsuffix(domain, accept_unknown=False) is None:
        raise _refuse(
            phrase(
                "{tld} is not a top-level domain, so {domain} cannot exist", tld=domain.rsplit(".", 1)[1], domain=domain
            ),
            "unknown_tld",
        )
    if psl.is_public(domain, accept_unknown=False):
        raise _refuse(
            phrase(
                "{domain} is a public suffix (like com or co.uk): nobody owns it; add a domain registered under it",
                domain=domain,
            ),
            "public_suffix",
        )
    if domain == platform_domain or domain.endswith("." + platform_domain):
        raise _refuse(phrase("{domain} is the platform's own sending domain", domain=domain), "platform_domain")


def organisational_domain(domain: str) -> str:
    """The registered domain a name belongs to (``mail.acme.co.uk`` -> ``acme.co.uk``), where DMARC falls back."""
    return _public_suffixes().privatesuffix(domain, accept_unknown=False) or domain


# --- the records to publish ----------------------------------------------------------------------------------
def dkim_name(selector: str, domain: str) -> str:
    return f"{selector}._domainkey.{domain}"


def dkim_value(public_key: str) -> str:
    """The DKIM key record (RFC 6376): ``public_key`` is the base64 of the DER SubjectPublicKeyInfo."""
    return f"v=DKIM1; k=rsa; p={public_key}"


def dmarc_name(domain: str) -> str:
    return f"_dmarc.{domain}"


DMARC_VALUE = "v=DMARC1; p=none"  # monitoring only; owners tighten it to quarantine or reject when ready


def spf_value(existing: str | None, include_host: str) -> str:
    """The SPF record to publish: a new one, or the domain's own with our ``include:`` added before its ``all``."""
    if existing is None:
        return f"v=spf1 include:{include_host} ~all"
    terms = existing.split()
    if _includes(terms, include_host):
        return " ".join(terms)
    at = next(
        (i for i, term in enumerate(terms) if i and (_SPF_ALL.match(term) or term.lower().startswith("redirect="))),
        len(terms),
    )
    return " ".join([*terms[:at], f"include:{include_host}", *terms[at:]])


def _includes(terms: Sequence[str], include_host: str) -> bool:
    wanted = f"include:{include_host}".lower()
    return any(term.lower().lstrip("+") == wanted for term in terms)


# --- what the records found mean ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Finding:
    """One record at one check: what was found there, what should be, and what is wrong if anything."""

    status: str  # OK, MISSING, WRONG, UNKNOWN (the DNS server did not answer), UNCHECKED
    expected: str
    found: tuple[str, ...] = ()
    problem: str | None = None
    note: str | None = None

    def as_dict(self) -> dict[str, object]:
        return {
            "status": self.status,
            "expected": self.expected,
            "found": list(self.found),
            "problem": self.problem,
            "note": self.note,
        }


def _tags(record: str) -> dict[str, str]:
    """``v=DKIM1; k=rsa; p=...`` as {"v": "DKIM1", ...}; the first occurrence of a tag wins."""
    tags: dict[str, str] = {}
    for part in record.split(";"):
        name, equals, value = part.partition("=")
        if equals and name.strip():
            tags.setdefault(name.strip().lower(), value.strip())
    return tags


def unknown(expected: str, reason: str) -> Finding:
    return Finding(UNKNOWN, expected, problem=reason)


def check_dkim(found: Sequence[str], *, name: str, public_key: str) -> Finding:
    """The TXT records at a key's selector against the key."""
    expected = dkim_value(public_key)
    if not found:
        return Finding(MISSING, expected, problem=f"no TXT record at {name}")
    if len(found) > 1:
        return Finding(WRONG, expected, tuple(found), f"{len(found)} TXT records at {name}; keep only this key's")
    tags = _tags(found[0])
    published = re.sub(r"\s+", "", tags.get("p", ""))
    if tags.get("v", "DKIM1") != "DKIM1":
        problem = "the record does not start with v=DKIM1"
    elif tags.get("k", "rsa").lower() != "rsa":
        problem = f"the key type is k={tags['k']}; this key is k=rsa"
    elif "p" not in tags:
        problem = "the record has no public key (p=)"
    elif not published:
        problem = "the key is revoked (empty p=)"
    elif published != public_key:
        problem = "the public key (p=) is not this domain's key: copy the expected value again"
    else:
        return Finding(OK, expected, tuple(found))
    return Finding(WRONG, expected, tuple(found), problem)


def spf_records(found: Iterable[str]) -> list[str]:
    return [r for r in found if r.lower() == "v=spf1" or r.lower().startswith("v=spf1 ")]


def check_spf(found: Sequence[str], *, domain: str, include_host: str) -> Finding:
    """The domain's TXT records: exactly one SPF record, including the platform's senders."""
    spf = spf_records(found)
    expected = spf_value(spf[0] if len(spf) == 1 else None, include_host)
    if not spf:
        return Finding(MISSING, expected, problem=f"no SPF record (v=spf1 ...) at {domain}")
    if len(spf) > 1:
        return Finding(
            WRONG,
            expected,
            tuple(spf),
            f"{len(spf)} SPF records at {domain}: receivers then ignore SPF (RFC 7208); merge them into one",
        )
    if not _includes(spf[0].split(), include_host):
        return Finding(WRONG, expected, tuple(spf), f"the SPF record does not include:{include_host}")
    return Finding(OK, expected, tuple(spf))


def _dmarc_records(found: Iterable[str]) -> list[str]:
    return [r for r in found if r.replace(" ", "").upper().startswith("V=DMARC1")]


def check_dmarc(found: Sequence[str], *, domain: str, inherited: Sequence[str] = (), from_domain: str = "") -> Finding:
    """The DMARC records at ``_dmarc.<domain>``; without any there, those of its organisational domain
    (``inherited``, from ``_dmarc.<from_domain>``) apply, as receivers do (RFC 7489 section 6.6.3)."""
    records, note = _dmarc_records(found), None
    if not records and _dmarc_records(inherited):
        records, note = _dmarc_records(inherited), f"inherited from {dmarc_name(from_domain)}"
    if not records:
        return Finding(MISSING, DMARC_VALUE, problem=f"no DMARC record (v=DMARC1; ...) at {dmarc_name(domain)}")
    if len(records) > 1:
        problem = f"{len(records)} DMARC records: receivers then ignore DMARC; keep one"
        return Finding(WRONG, DMARC_VALUE, tuple(records), problem, note)
    policy = _tags(records[0]).get("p", "").lower()
    if policy not in DMARC_POLICIES:
        problem = "the DMARC record has no valid policy: p=none, p=quarantine or p=reject"
        return Finding(WRONG, DMARC_VALUE, tuple(records), problem, note)
    return Finding(OK, DMARC_VALUE, tuple(records), note=note)


def status_after_check(findings: Iterable[Finding], *, previous: str, was_verified: bool) -> str:
    """The domain's status from the findings of the records it needs (SPF, DMARC, the signing key's DKIM).

    A record that is there but wrong fails the domain. A DNS server that did not answer decides nothing, so
    the status stays. A missing record fails a domain that was verified once (it stopped passing), and leaves a
    new one pending: its owner may not have published everything yet.
    """
    statuses = {finding.status for finding in findings}
    if WRONG in statuses:
        return FAILED
    if UNKNOWN in statuses:
        return previous
    if MISSING in statuses or UNCHECKED in statuses:
        return FAILED if was_verified else PENDING
    return VERIFIED
