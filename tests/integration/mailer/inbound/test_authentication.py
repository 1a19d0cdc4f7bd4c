"""The sender's authentication checked by the mailer itself (SPF with pyspf, DKIM with dkimpy, DMARC) against a
real DNS server on loopback holding the right records, wrong ones, and none; and what follows for the message."""

from __future__ import annotations

import time
from email.message import EmailMessage

import pytest

from crm.events.v1 import mailer_pb2
from crm_events.mailer import INBOUND_RECEIVED
from crm_mailer.domains import dkim
from crm_mailer.domains.dkim import DomainKey, new_key_pair
from crm_mailer.domains.dns import parse_resolver
from crm_mailer.inbound.authcheck import Authenticator
from crm_mailer.inbound.message import Envelope
from crm_mailer.inbound.models import QUARANTINED, ROUTED
from crm_mailer.inbound.parse import parse
from crm_mailer.inbound.resolver import CachingResolver
from crm_platform.events import payload_of
from crm_platform.ids import new_id
from tests.support.dns_server import LoopbackDns, loopback_dns, silent_dns

from .conftest import TRUSTED_RELAY, Inbound

DOMAIN = "example.com"
SELECTOR = "s2026"
KEY = new_key_pair()
OTHER_KEY = new_key_pair()
SPF_US = "v=spf1 ip4:127.0.0.1 -all"  # the SMTP client of these tests is 127.0.0.1
SPF_NOT_US = "v=spf1 ip4:192.0.2.0/24 -all"


def mail(*, sender: str = f"ana@{DOMAIN}", signed_by: str | None = None, key: bytes = KEY.private_pem) -> bytes:
    message = EmailMessage()
    message["From"] = f"Ana Ruiz <{sender}>"
    message["To"] = "soporte@acme.test"
    message["Subject"] = "Re: la impresora"
    message["Date"] = "Mon, 03 Jun 2024 10:00:00 +0000"
    message["Message-ID"] = f"<{new_id()}@{DOMAIN}>"
    message.set_content("Ya funciona, gracias.\n")
    raw = bytes(message).replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    if signed_by:
        raw = dkim.sign(raw, DomainKey(domain=signed_by, selector=SELECTOR, private_pem=key))
    return raw


def publish(dns: LoopbackDns, *, spf: str | None = None, dkim_key: str | None = None, dmarc: str | None = None) -> None:
    if spf:
        dns.zone.set_txt(DOMAIN, spf)
    if dkim_key:
        dns.zone.set_txt(f"{SELECTOR}._domainkey.{DOMAIN}", f"v=DKIM1; k=rsa; p={dkim_key}")
    if dmarc:
        dns.zone.set_txt(f"_dmarc.{DOMAIN}", dmarc)


def checker(address: str, *, timeout: float = 2.0, max_ttl: float = 300.0) -> Authenticator:
    return Authenticator(CachingResolver(parse_resolver(address), timeout=timeout, max_ttl=max_ttl), timeout=timeout)


def check(authenticator: Authenticator, raw: bytes, *, mail_from: str = f"bounces@{DOMAIN}"):  # type: ignore[no-untyped-def]
    message = parse(raw, Envelope(mail_from=mail_from, client_ip="127.0.0.1", helo="mx.example.com"))
    return authenticator.check(message, client_ip="127.0.0.1", helo="mx.example.com")


@pytest.fixture
def dns_server():  # type: ignore[no-untyped-def]
    with loopback_dns() as server:
        yield server


# --- the checks on their own --------------------------------------------------------------------------------
def test_the_right_records_pass_spf_dkim_and_dmarc(dns_server: LoopbackDns) -> None:
    publish(dns_server, spf=SPF_US, dkim_key=KEY.public_key, dmarc="v=DMARC1; p=reject")

    found = check(checker(dns_server.address), mail(signed_by=DOMAIN))

    assert found.results == {"spf": "pass", "dkim": "pass", "dmarc": "pass"}
    assert found.dmarc_policy == "reject"
    assert found.details["dkim"] == [{"domain": DOMAIN, "result": "pass"}]


def test_the_wrong_records_fail_each_method(dns_server: LoopbackDns) -> None:
    publish(dns_server, spf=SPF_NOT_US, dkim_key=OTHER_KEY.public_key, dmarc="v=DMARC1; p=reject")

    found = check(checker(dns_server.address), mail(signed_by=DOMAIN))

    assert found.results == {"spf": "fail", "dkim": "fail", "dmarc": "fail"}
    assert found.dmarc_policy == "reject"


def test_no_records_say_none(dns_server: LoopbackDns) -> None:
    found = check(checker(dns_server.address), mail(signed_by=DOMAIN))

    assert found.results == {"spf": "none", "dkim": "fail", "dmarc": "none"}  # a signature without its key fails
    assert found.dmarc_policy is None
    assert check(checker(dns_server.address), mail()).results["dkim"] == "none"  # unsigned


def test_dmarc_aligns_relaxed_by_organisational_domain_and_strict_by_the_same_name(dns_server: LoopbackDns) -> None:
    dns_server.zone.set_txt(f"{SELECTOR}._domainkey.mail.{DOMAIN}", f"v=DKIM1; k=rsa; p={KEY.public_key}")
    publish(dns_server, dmarc="v=DMARC1; p=reject; sp=quarantine")

    relaxed = check(checker(dns_server.address), mail(sender=f"ana@news.{DOMAIN}", signed_by=f"mail.{DOMAIN}"))
    dns_server.zone.set_txt(f"_dmarc.{DOMAIN}", "v=DMARC1; p=reject; adkim=s")
    strict = check(checker(dns_server.address), mail(signed_by=f"mail.{DOMAIN}"))

    assert (relaxed.results["dkim"], relaxed.results["dmarc"]) == ("pass", "pass")
    assert relaxed.dmarc_policy == "quarantine"  # the organisational domain's record, sp= for a subdomain
    assert (strict.results["dkim"], strict.results["dmarc"], strict.dmarc_policy) == ("pass", "fail", "reject")


def test_a_dns_server_that_never_answers_is_temperror_not_a_failure() -> None:
    with silent_dns() as address:
        authenticator = checker(address, timeout=0.3)
        started = time.monotonic()
        found = check(authenticator, mail(signed_by=DOMAIN))
        elapsed = time.monotonic() - started

    assert found.results == {"spf": "temperror", "dkim": "temperror", "dmarc": "temperror"}
    assert elapsed < 5, elapsed  # each lookup has its deadline


def test_a_dkim_key_lookup_that_times_out_keeps_dmarc_from_failing(dns_server: LoopbackDns) -> None:
    """SPF fails, the key cannot be read: DMARC might pass once DNS answers, so it is temperror, not fail."""
    publish(dns_server, spf=SPF_NOT_US, dkim_key=KEY.public_key, dmarc="v=DMARC1; p=reject")
    authenticator = checker(dns_server.address)
    with silent_dns() as address:
        slow = checker(address, timeout=0.3).resolver
        authenticator.resolver.txt_for_dkim = slow.txt_for_dkim  # type: ignore[method-assign]
        found = check(authenticator, mail(signed_by=DOMAIN))

    assert found.results == {"spf": "fail", "dkim": "temperror", "dmarc": "temperror"}


def test_answers_are_cached_for_their_ttl_bounded_by_the_setting(dns_server: LoopbackDns) -> None:
    publish(dns_server, spf=SPF_US, dkim_key=KEY.public_key, dmarc="v=DMARC1; p=reject")
    now = [1000.0]
    resolver = CachingResolver(parse_resolver(dns_server.address), timeout=2, max_ttl=30, clock=lambda: now[0])
    authenticator = Authenticator(resolver, timeout=2)

    check(authenticator, mail(signed_by=DOMAIN))
    asked = len(dns_server.zone.queries)
    check(authenticator, mail(signed_by=DOMAIN))
    cached = len(dns_server.zone.queries)
    now[0] += 31  # past the setting (the records' TTL is 60)
    check(authenticator, mail(signed_by=DOMAIN))

    assert asked >= 3 and cached == asked
    assert len(dns_server.zone.queries) == 2 * asked


# --- what the pipeline makes of them ------------------------------------------------------------------------
def received_events(inbound: Inbound) -> list[mailer_pb2.InboundReceived]:
    return [payload_of(e, mailer_pb2.InboundReceived) for e in inbound.mailer.outbox(INBOUND_RECEIVED.name)]


def test_a_forged_reply_from_a_p_reject_domain_is_quarantined(inbound: Inbound) -> None:
    acme = inbound.contacts.workspace()
    publish(inbound.dns, spf=SPF_NOT_US, dkim_key=KEY.public_key, dmarc="v=DMARC1; p=reject")

    forged = inbound.processed(inbound.send(mail(), to=inbound.address(acme), mail_from=f"ana@{DOMAIN}"))

    assert (forged.status, forged.quarantine) == (QUARANTINED, "dmarc_reject")
    assert (forged.spf, forged.dkim, forged.dmarc, forged.dmarc_policy) == ("fail", "none", "fail", "reject")
    assert (forged.client_ip, forged.helo) == ("127.0.0.1", "relay.test")
    assert forged.auth["own"]["details"]["spf"]["domain"] == DOMAIN
    assert received_events(inbound) == []


def test_a_signed_reply_passes_and_the_event_says_so(inbound: Inbound) -> None:
    acme = inbound.contacts.workspace()
    publish(inbound.dns, spf=SPF_NOT_US, dkim_key=KEY.public_key, dmarc="v=DMARC1; p=reject")

    row = inbound.processed(inbound.send(mail(signed_by=DOMAIN), to=inbound.address(acme), mail_from=f"x@{DOMAIN}"))

    [event] = received_events(inbound)
    assert row.status == ROUTED
    assert event.auth_summary == "spf=fail dkim=pass dmarc=pass"  # DKIM aligned is enough


def test_a_failure_under_p_none_is_recorded_but_delivered(inbound: Inbound) -> None:
    acme = inbound.contacts.workspace()
    publish(inbound.dns, spf=SPF_NOT_US, dmarc="v=DMARC1; p=none")

    row = inbound.processed(inbound.send(mail(), to=inbound.address(acme), mail_from=f"ana@{DOMAIN}"))

    [event] = received_events(inbound)
    assert (row.status, row.dmarc, row.dmarc_policy) == (ROUTED, "fail", "none")
    assert event.auth_summary == "spf=fail dkim=none dmarc=fail"


def test_dns_that_does_not_answer_delivers_the_message_as_temperror(inbound: Inbound) -> None:
    acme = inbound.contacts.workspace()
    with silent_dns() as address:
        inbound.listener.pipeline.authenticator = checker(address, timeout=0.3)
        row = inbound.processed(inbound.send(mail(), to=inbound.address(acme), mail_from=f"ana@{DOMAIN}"))

    [event] = received_events(inbound)
    assert (row.status, row.spf, row.dmarc) == (ROUTED, "temperror", "temperror")
    assert event.auth_summary == "spf=temperror dkim=none dmarc=temperror"


def test_the_trusted_relays_word_counts_first_and_its_spf_replaces_ours(inbound: Inbound) -> None:
    """Behind a relay the SMTP client we see is the relay: its SPF result is used, ours not computed."""
    acme = inbound.contacts.workspace()
    publish(inbound.dns, spf=SPF_NOT_US, dmarc="v=DMARC1; p=reject")
    header = f"Authentication-Results: {TRUSTED_RELAY}; spf=pass smtp.mailfrom=ana@{DOMAIN}\r\n".encode()

    row = inbound.processed(inbound.send(header + mail(), to=inbound.address(acme), mail_from=f"ana@{DOMAIN}"))

    assert row.status == ROUTED
    assert (row.spf, row.dkim, row.dmarc) == ("pass", "none", "pass")  # our DMARC, aligned on the relay's SPF
    assert "spf" not in row.auth["own"]["results"]


def test_mail_posted_over_http_is_checked_for_the_client_the_relay_names(inbound: Inbound) -> None:
    acme = inbound.contacts.workspace()
    publish(inbound.dns, spf="v=spf1 ip4:198.51.100.7 -all", dmarc="v=DMARC1; p=reject")
    api = inbound.mailer

    def post(client_ip: str) -> dict:  # type: ignore[type-arg]
        answer = api.client.post(
            f"/v1/mailer/inbound?mail_from=ana@{DOMAIN}&client_ip={client_ip}&helo=mx.{DOMAIN}",
            data=mail(),
            content_type="message/rfc822",
            headers=api.auth(acme, role="admin"),
        )
        assert answer.status_code == 202, answer.get_json()
        return answer.get_json()  # type: ignore[no-any-return]

    assert post("198.51.100.7")["status"] == ROUTED
    assert (post("203.0.113.9")["status"], post("203.0.113.9")["quarantine"]) == (QUARANTINED, "dmarc_reject")
    bad = api.client.post(
        "/v1/mailer/inbound?client_ip=not-an-ip",
        data=mail(),
        content_type="message/rfc822",
        headers=api.auth(acme, role="admin"),
    )
    assert bad.status_code in (400, 422), bad.get_json()
