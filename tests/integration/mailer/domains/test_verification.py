"""Checking a sender domain's records against a real DNS server on loopback holding the right records, wrong ones
or none; mail signed with a verified domain's key passes dkimpy's verification against that server; key rotation."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta

import dkim
from sqlalchemy import select, update

from crm_mailer.domains import service as domains
from crm_mailer.domains.dkim import sign
from crm_mailer.domains.models import DomainKeyRow, SenderDomain
from crm_mailer.domains.service import DomainConfig, Domains
from crm_platform.db import utcnow
from tests.integration.mailer.domains.helpers import (
    BASE,
    DOMAIN,
    SPF_INCLUDE,
    add,
    by_purpose,
    dkim_tags,
    due_now,
    mail_from,
    publish,
    signing_key,
    verified_domain,
    verify,
)
from tests.support.dns_server import LoopbackDns
from tests.support.stack import RunningService


def test_added_domain_answers_the_records_to_publish_and_stays_pending_while_they_are_missing(
    api: RunningService, acme: str
) -> None:
    answer = add(api, acme, "Acme-Widgets.COM.")
    added = answer.get_json()
    checked = verify(api, acme, added["id"])

    assert answer.status_code == 201
    assert answer.headers["Location"] == f"{BASE}/{added['id']}"
    assert (added["domain"], added["status"], added["usable_as_from"]) == (DOMAIN, "pending", False)
    records = by_purpose(added)
    selector = records["dkim:pending"]["selector"]
    assert records["dkim:pending"]["name"] == f"{selector}._domainkey.{DOMAIN}"
    assert records["dkim:pending"]["value"].startswith("v=DKIM1; k=rsa; p=MII")
    assert (records["spf"]["name"], records["spf"]["value"]) == (DOMAIN, f"v=spf1 include:{SPF_INCLUDE} ~all")
    assert (records["dmarc"]["name"], records["dmarc"]["value"]) == (f"_dmarc.{DOMAIN}", "v=DMARC1; p=none")
    assert {r["status"] for r in added["records"]} == {"unchecked"}
    assert checked["status"] == "pending"
    assert {k: (r["status"], r["problem"]) for k, r in by_purpose(checked).items()} == {
        "dkim:pending": ("missing", f"no TXT record at {selector}._domainkey.{DOMAIN}"),
        "spf": ("missing", f"no SPF record (v=spf1 ...) at {DOMAIN}"),
        "dmarc": ("missing", f"no DMARC record (v=DMARC1; ...) at _dmarc.{DOMAIN}"),
    }
    assert checked["last_checked_at"] is not None and checked["check_error"] is None
    waits = datetime.fromisoformat(checked["next_check_at"]) - datetime.fromisoformat(checked["last_checked_at"])
    assert waits == timedelta(seconds=300)  # a pending domain is looked at again soon (MAILER_PENDING_...)
    assert signing_key(api, acme, f"support@{DOMAIN}") is None


def test_domain_with_the_right_records_is_verified_and_its_mail_carries_a_signature_dkimpy_verifies(
    api: RunningService, dns_server: LoopbackDns, acme: str
) -> None:
    dns_server.zone.set_txt(DOMAIN, "v=spf1 include:_spf.google.com -all", "google-site-verification=abc")
    added = add(api, acme).get_json()
    publish(dns_server, added, "dkim", "dmarc")
    merged = by_purpose(verify(api, acme, added["id"]))["spf"]
    dns_server.zone.set_txt(DOMAIN, merged["value"], "google-site-verification=abc")

    domain = verify(api, acme, added["id"])
    key = signing_key(api, acme, f"Acme Support <support@{DOMAIN.upper()}>")
    assert key is not None
    signed = sign(mail_from(f"Acme Support <support@{DOMAIN}>"), key)
    tampered = signed.replace(b"Subject: Printer on fire", b"Subject: Printer is fine")

    assert merged["status"] == "wrong"
    assert merged["value"] == f"v=spf1 include:_spf.google.com include:{SPF_INCLUDE} -all"
    assert (domain["status"], domain["usable_as_from"]) == ("verified", True)
    assert {r["status"] for r in domain["records"]} == {"ok"}
    assert [k["state"] for k in domain["keys"]] == ["active"]
    assert (key.domain, key.selector) == (DOMAIN, domain["keys"][0]["selector"])
    assert dkim.verify(signed, dnsfunc=dns_server.txt_for_dkimpy)
    assert not dkim.verify(tampered, dnsfunc=dns_server.txt_for_dkimpy)
    signed_headers = dkim_tags(signed)["h"].lower().split(":")
    for header in ("from", "subject", "date", "message-id", "list-unsubscribe", "list-unsubscribe-post"):
        assert header in signed_headers
    assert dkim_tags(signed)["d"] == DOMAIN


def test_wrong_records_fail_the_domain_naming_what_is_wrong(
    api: RunningService, dns_server: LoopbackDns, acme: str
) -> None:
    added = add(api, acme).get_json()
    other = add(api, acme, "other-widgets.com").get_json()
    records = by_purpose(added)
    someone_elses_key = by_purpose(other)["dkim:pending"]["value"]
    dns_server.zone.set_txt(records["dkim:pending"]["name"], someone_elses_key)
    dns_server.zone.set_txt(DOMAIN, "v=spf1 include:_spf.google.com ~all", f"v=spf1 include:{SPF_INCLUDE} ~all")
    dns_server.zone.set_txt(f"_dmarc.{DOMAIN}", "v=DMARC1; rua=mailto:d@acme-widgets.com")

    domain = verify(api, acme, added["id"])

    assert (domain["status"], domain["usable_as_from"]) == ("failed", False)
    found = by_purpose(domain)
    assert found["dkim:pending"]["status"] == "wrong"
    assert (
        found["dkim:pending"]["problem"]
        == "the public key (p=) is not this domain's key: copy the expected value again"
    )
    assert found["dkim:pending"]["found"] == [someone_elses_key]
    assert found["spf"]["status"] == "wrong"
    assert found["spf"]["problem"].startswith("2 SPF records at acme-widgets.com")
    assert found["dmarc"]["problem"] == "the DMARC record has no valid policy: p=none, p=quarantine or p=reject"

    dns_server.zone.set_txt(DOMAIN, "v=spf1 include:_spf.google.com ~all")
    assert (
        by_purpose(verify(api, acme, added["id"]))["spf"]["problem"] == f"the SPF record does not include:{SPF_INCLUDE}"
    )
    assert signing_key(api, acme, f"support@{DOMAIN}") is None


def test_a_subdomain_inherits_the_dmarc_record_of_its_organisational_domain(
    api: RunningService, dns_server: LoopbackDns, acme: str
) -> None:
    added = add(api, acme, f"mail.{DOMAIN}").get_json()
    publish(dns_server, added, "dkim", "spf")
    dns_server.zone.set_txt(f"_dmarc.{DOMAIN}", "v=DMARC1; p=reject")

    domain = verify(api, acme, added["id"])

    assert domain["status"] == "verified"
    assert by_purpose(domain)["dmarc"]["note"] == f"inherited from _dmarc.{DOMAIN}"


def test_the_periodic_check_fails_a_verified_domain_whose_records_were_removed_and_verifies_it_again(
    api: RunningService, dns_server: LoopbackDns, acme: str
) -> None:
    domain = verified_domain(api, dns_server, acme)
    config = Domains.of(api.rt).config
    dns_server.zone.remove(DOMAIN)  # the SPF record
    due_now(api)

    checked = domains.recheck_due(api.rt.database, config.lookup(), config)
    after = api.client.get(f"{BASE}/{domain['id']}", headers=api.auth(acme)).get_json()
    not_due_yet = domains.recheck_due(api.rt.database, config.lookup(), config)

    assert (checked, not_due_yet) == (1, 0)
    waits = datetime.fromisoformat(after["next_check_at"]) - datetime.fromisoformat(after["last_checked_at"])
    assert waits == timedelta(seconds=3600)  # MAILER_DOMAIN_RECHECK_SECONDS
    assert after["status"] == "failed"
    assert (by_purpose(after)["spf"]["status"], by_purpose(after)["dkim:active"]["status"]) == ("missing", "ok")
    assert signing_key(api, acme, f"support@{DOMAIN}") is None

    publish(dns_server, after, "spf")
    due_now(api)
    domains.recheck_due(api.rt.database, config.lookup(), config)
    assert api.client.get(f"{BASE}/{domain['id']}", headers=api.auth(acme)).get_json()["status"] == "verified"


def test_the_mailers_worker_checks_due_domains_on_its_own(
    api: RunningService, dns_server: LoopbackDns, acme: str
) -> None:
    from crm_mailer.app import SERVICE
    from crm_mailer.domains.loop import recheck_forever

    added = add(api, acme).get_json()
    publish(dns_server, added)
    due_now(api)
    stop = threading.Event()
    worker = threading.Thread(target=recheck_forever, args=(api.rt, stop))
    worker.start()
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            status = api.client.get(f"{BASE}/{added['id']}", headers=api.auth(acme)).get_json()["status"]
            if status != "pending":
                break
            time.sleep(0.1)
    finally:
        stop.set()
        worker.join(timeout=10)

    assert recheck_forever in SERVICE.loops
    assert status == "verified"
    assert not worker.is_alive()


def test_a_pending_domain_nobody_completes_is_checked_less_often_after_a_week(
    api: RunningService, dns_server: LoopbackDns, acme: str
) -> None:
    added = add(api, acme).get_json()
    with api.rt.database.engine.begin() as connection:
        connection.execute(update(SenderDomain).values(created_at=utcnow() - timedelta(days=8)))

    checked = verify(api, acme, added["id"])

    waits = datetime.fromisoformat(checked["next_check_at"]) - datetime.fromisoformat(checked["last_checked_at"])
    assert (checked["status"], waits) == ("pending", timedelta(seconds=3600))


def test_a_dns_server_that_does_not_answer_changes_nothing_and_says_why(
    api: RunningService, dns_server: LoopbackDns, acme: str
) -> None:
    domain = verified_domain(api, dns_server, acme)
    from crm_mailer.domains.dns import ResolverAddress
    from tests.support.infra import free_port

    config = Domains.of(api.rt).config
    silent = DomainConfig(
        **{**config.__dict__, "resolver": ResolverAddress("127.0.0.1", free_port()), "dns_timeout": 0.5}
    )

    new = add(api, acme, "other-widgets.com").get_json()

    after = domains.verify(api.rt.database, silent.lookup(), silent, workspace_id=acme, domain_id=domain["id"])
    still_new = domains.verify(api.rt.database, silent.lookup(), silent, workspace_id=acme, domain_id=new["id"])

    assert after.status == "verified"
    assert after.check_error == f"the DNS server did not answer for {DOMAIN}"
    assert signing_key(api, acme, f"support@{DOMAIN}") is not None
    assert (still_new.status, still_new.check_error) == (
        "pending",
        "the DNS server did not answer for other-widgets.com",
    )
    shown = api.client.get(f"{BASE}/{new['id']}", headers=api.auth(acme)).get_json()
    assert {r["status"] for r in shown["records"]} == {"unknown"}


def test_rotation_publishes_a_new_selector_beside_the_active_one_and_retires_the_old_once_verified(
    api: RunningService, dns_server: LoopbackDns, acme: str
) -> None:
    domain = verified_domain(api, dns_server, acme)
    old_selector = domain["keys"][0]["selector"]

    rotated = api.client.post(f"{BASE}/{domain['id']}/rotate", headers=api.auth(acme))
    again = api.client.post(f"{BASE}/{domain['id']}/rotate", headers=api.auth(acme))
    waiting = verify(api, acme, domain["id"])  # the new record is not published yet
    still_old = signing_key(api, acme, f"support@{DOMAIN}")
    new = by_purpose(rotated.get_json())["dkim:pending"]
    dns_server.zone.set_txt(new["name"], new["value"])
    done = verify(api, acme, domain["id"])
    key = signing_key(api, acme, f"support@{DOMAIN}")
    assert key is not None

    assert rotated.status_code == 200
    assert again.status_code == 409
    assert again.get_json()["type"] == "urn:crm:problem:conflict"
    assert waiting["status"] == "verified"
    assert (by_purpose(waiting)["dkim:active"]["status"], by_purpose(waiting)["dkim:pending"]["status"]) == (
        "ok",
        "missing",
    )
    assert still_old is not None and still_old.selector == old_selector
    assert done["status"] == "verified"
    assert [(k["selector"], k["state"]) for k in done["keys"]] == [
        (old_selector, "retired"),
        (new["selector"], "active"),
    ]
    assert [r["selector"] for r in done["records"] if r["purpose"] == "dkim"] == [new["selector"]]
    assert key.selector == new["selector"]
    assert dkim.verify(sign(mail_from(f"support@{DOMAIN}"), key), dnsfunc=dns_server.txt_for_dkimpy)
    with api.rt.database.engine.connect() as connection:
        retired = connection.execute(
            select(DomainKeyRow.private_key_encrypted).where(DomainKeyRow.selector == old_selector)
        ).scalar_one()
    assert retired is None  # a retired key's private half is not kept


def test_a_domain_not_verified_yet_has_no_key_to_rotate(api: RunningService, acme: str) -> None:
    added = add(api, acme).get_json()

    answer = api.client.post(f"{BASE}/{added['id']}/rotate", headers=api.auth(acme))

    assert answer.status_code == 409
