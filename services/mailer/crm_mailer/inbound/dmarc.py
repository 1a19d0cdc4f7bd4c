"""DMARC (RFC 7489) as pure functions: a policy record read, identifier alignment, and the outcome.

No I/O here: ``authcheck.py`` fetches the records and runs SPF and DKIM, then asks ``evaluate`` what they
come to for the RFC5322.From domain."""

from __future__ import annotations

from dataclasses import dataclass

from crm_mailer.domains.rules import _public_suffixes

POLICIES = ("none", "quarantine", "reject")


@dataclass(frozen=True)
class DmarcRecord:
    """A published policy: ``p`` for the domain, ``sp`` for its subdomains, alignment modes (r relaxed, s strict)."""

    p: str
    sp: str | None = None
    adkim: str = "r"
    aspf: str = "r"
    pct: int = 100


@dataclass(frozen=True)
class DmarcOutcome:
    result: str  # pass, fail, none (no policy published), temperror, permerror
    policy: str | None = None  # the policy that applies to this From domain (p, or sp for a subdomain)
    domain: str | None = None  # the From domain evaluated
    why: str = ""


def organisational_domain(domain: str) -> str:
    """The registrable domain (``mail.example.co.uk`` -> ``example.co.uk``), by the Public Suffix List; a name
    that is itself a public suffix, or unknown to it, stands for itself."""
    name = domain.strip().rstrip(".").lower()
    found = _public_suffixes().privatesuffix(name)
    return found or name


def parse_record(text: str) -> DmarcRecord | None:
    """``v=DMARC1; p=reject; sp=none; adkim=s`` -> the record; None when it is not a DMARC record at all.

    An unknown or missing ``p`` makes no valid record (RFC 7489 6.6.3: a record with a bad ``p`` is ignored
    unless ``rua`` is given; this platform sends no reports, so it is ignored)."""
    tags: dict[str, str] = {}
    for piece in text.split(";"):
        name, sep, value = piece.partition("=")
        if sep:
            tags.setdefault(name.strip().lower(), value.strip())
    first = text.split(";", 1)[0].replace(" ", "")
    if first != "v=DMARC1":  # the version tag comes first, as written
        return None
    p = tags.get("p", "").lower()
    if p not in POLICIES:
        return None
    sp = tags.get("sp", "").lower() or None
    adkim = tags.get("adkim", "r").lower()
    aspf = tags.get("aspf", "r").lower()
    try:
        pct = max(0, min(100, int(tags.get("pct", "100"))))
    except ValueError:
        pct = 100
    return DmarcRecord(
        p=p,
        sp=sp if sp in POLICIES else None,
        adkim=adkim if adkim in ("r", "s") else "r",
        aspf=aspf if aspf in ("r", "s") else "r",
        pct=pct,
    )


def pick_record(texts: list[str]) -> DmarcRecord | str | None:
    """The one DMARC record among a name's TXT records; None when there is none, "many" when there are several
    (RFC 7489 6.6.3: then no policy applies)."""
    found = [record for record in (parse_record(text) for text in texts) if record is not None]
    if len(found) > 1:
        return "many"
    return found[0] if found else None


def aligned(identifier: str | None, from_domain: str, mode: str) -> bool:
    """Strict: the same name; relaxed: the same organisational domain."""
    if not identifier:
        return False
    a, b = identifier.strip().rstrip(".").lower(), from_domain.strip().rstrip(".").lower()
    if a == b:
        return True
    return mode != "s" and organisational_domain(a) == organisational_domain(b)


def evaluate(
    *,
    from_domain: str,
    record: DmarcRecord,
    record_domain: str,
    spf_result: str | None,
    spf_domain: str | None,
    dkim_domains: tuple[str, ...],
) -> DmarcOutcome:
    """DMARC passes when SPF passed for an aligned envelope domain, or a DKIM signature that verified has an
    aligned ``d=``. ``record_domain`` is where the record was found: the From domain's own, or its
    organisational domain's, whose ``sp`` then applies."""
    policy = record.p
    if record_domain != from_domain and record.sp:
        policy = record.sp
    if spf_result == "pass" and aligned(spf_domain, from_domain, record.aspf):
        return DmarcOutcome("pass", policy, from_domain, f"SPF aligned ({spf_domain})")
    for domain in dkim_domains:
        if aligned(domain, from_domain, record.adkim):
            return DmarcOutcome("pass", policy, from_domain, f"DKIM aligned (d={domain})")
    return DmarcOutcome("fail", policy, from_domain, "neither SPF nor DKIM passed aligned with the From domain")
