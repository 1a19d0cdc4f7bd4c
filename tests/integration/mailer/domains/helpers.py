"""Steps of the sender domain tests: add a domain, publish its records on the loopback DNS server, check it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import update

from crm_mailer.domains import service as domains
from crm_mailer.domains.dkim import DomainKey
from crm_mailer.domains.models import SenderDomain
from crm_mailer.domains.service import Domains
from crm_mailer.outbound import rules as compose
from crm_platform.db import utcnow
from tests.support.dns_server import LoopbackDns
from tests.support.stack import RunningService

DOMAIN = "acme-widgets.com"
SPF_INCLUDE = "_spf.crm-platform.net"
BASE = "/v1/mailer/sender-domains"


def add(api: RunningService, workspace: str, name: str = DOMAIN, **headers: str) -> Any:
    return api.client.post(BASE, json={"domain": name}, headers={**api.auth(workspace), **headers})


def verify(api: RunningService, workspace: str, domain_id: str) -> dict[str, Any]:
    answer = api.client.post(f"{BASE}/{domain_id}/verify", headers=api.auth(workspace))
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()


def by_purpose(domain: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The records of a domain by purpose; DKIM ones by ``dkim:<key state>``."""
    return {(f"dkim:{r['key_state']}" if r["purpose"] == "dkim" else r["purpose"]): r for r in domain["records"]}


def publish(dns_server: LoopbackDns, domain: dict[str, Any], *purposes: str) -> None:
    """Publish the records the API asked for (all of them by default), as the domain's owner would."""
    for record in domain["records"]:
        if not purposes or record["purpose"] in purposes:
            existing = dns_server.zone.records.get(record["name"], [])
            if record["purpose"] == "spf":
                existing = [r for r in existing if not r.startswith("v=spf1")]
            dns_server.zone.set_txt(record["name"], *existing, record["value"])


def verified_domain(api: RunningService, dns_server: LoopbackDns, workspace: str) -> dict[str, Any]:
    added = add(api, workspace).get_json()
    publish(dns_server, added)
    domain = verify(api, workspace, added["id"])
    assert domain["status"] == "verified", domain
    return domain


def signing_key(api: RunningService, workspace: str, sender: str) -> DomainKey | None:
    return domains.signing_key_for(api.rt.database, Domains.of(api.rt).cipher, workspace_id=workspace, sender=sender)


def mail_from(sender: str) -> bytes:
    mail = compose.build(
        sender=sender,
        recipient="ana@example.com",
        subject="Printer on fire",
        body="We are on it.",
        rfc822_message_id="<0193-abc@acme-widgets.com>",
        ticket_id=None,
        when=utcnow(),
    )
    mail["List-Unsubscribe"] = "<https://crm-platform.net/u/abc>, <mailto:u-abc@crm-platform.net>"
    mail["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    return mail.as_bytes()


def dkim_tags(signed: bytes) -> dict[str, str]:
    header = signed.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0].decode()
    value = header.split("DKIM-Signature:", 1)[1]
    tags = {}
    for part in value.replace("\r\n", "").replace("\n", "").split(";"):
        name, _, text = part.strip().partition("=")
        tags[name] = "".join(text.split())
    return tags


def due_now(api: RunningService) -> None:
    with api.rt.database.engine.begin() as connection:
        connection.execute(update(SenderDomain).values(next_check_at=utcnow() - timedelta(seconds=1)))
