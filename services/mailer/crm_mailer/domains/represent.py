"""A sender domain as the API shows it: its status, and each DNS record to publish with what the last check found."""

from __future__ import annotations

from typing import Any

from crm_mailer.domains import rules
from crm_mailer.domains.models import KEY_RETIRED, DomainKeyRow, SenderDomain

NOT_CHECKED: dict[str, Any] = {"status": rules.UNCHECKED, "found": [], "problem": "not checked yet", "note": None}


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def _record(purpose: str, name: str, value: str, finding: dict[str, Any] | None, **extra: Any) -> dict[str, Any]:
    seen = {k: v for k, v in (finding or NOT_CHECKED).items() if k != "expected"}
    return {"purpose": purpose, "type": "TXT", "name": name, "value": value, **extra, **NOT_CHECKED, **seen}


def records(domain: SenderDomain, *, spf_include: str) -> list[dict[str, Any]]:
    """The records to publish: a DKIM key record per key in use or waiting, the SPF record, the DMARC record."""
    shown = []
    for key in domain.keys:
        if key.state == KEY_RETIRED:
            continue
        shown.append(
            _record(
                "dkim",
                rules.dkim_name(key.selector, domain.name),
                rules.dkim_value(key.public_key),
                key.finding,
                selector=key.selector,
                key_state=key.state,
            )
        )
    spf = (domain.findings or {}).get("spf")
    spf_value = spf["expected"] if spf and spf.get("expected") else rules.spf_value(None, spf_include)
    shown.append(_record("spf", domain.name, spf_value, spf))
    shown.append(
        _record("dmarc", rules.dmarc_name(domain.name), rules.DMARC_VALUE, (domain.findings or {}).get("dmarc"))
    )
    return shown


def key_dict(key: DomainKeyRow) -> dict[str, Any]:
    return {
        "selector": key.selector,
        "state": key.state,
        "created_at": _iso(key.created_at),
        "activated_at": _iso(key.activated_at),
        "retired_at": _iso(key.retired_at),
    }


def domain_dict(domain: SenderDomain, *, spf_include: str) -> dict[str, Any]:
    return {
        "id": domain.id,
        "domain": domain.name,
        "status": domain.status,
        "usable_as_from": domain.status == rules.VERIFIED,
        "created_at": _iso(domain.created_at),
        "verified_at": _iso(domain.verified_at),
        "last_checked_at": _iso(domain.last_checked_at),
        "next_check_at": _iso(domain.next_check_at),
        "check_error": domain.check_error,
        "records": records(domain, spf_include=spf_include),
        "keys": [key_dict(key) for key in domain.keys],
    }
