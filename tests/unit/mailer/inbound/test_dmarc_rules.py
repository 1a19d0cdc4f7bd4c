"""DMARC's pure part: reading a policy record, aligning identifiers, and what SPF and DKIM results come to."""

from __future__ import annotations

import pytest

from crm_mailer.inbound import dmarc
from crm_mailer.inbound.dmarc import DmarcRecord


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("v=DMARC1; p=reject", DmarcRecord(p="reject")),
        ("v=DMARC1;p=quarantine;sp=none;adkim=s;aspf=s;pct=20", DmarcRecord("quarantine", "none", "s", "s", 20)),
        ("v=DMARC1; p=none; rua=mailto:d@example.com", DmarcRecord(p="none")),
        ("v=DMARC1; p=REJECT; adkim=x; pct=lots", DmarcRecord(p="reject")),
        ("v=DMARC1; p=maybe", None),  # no valid policy: not a record
        ("p=reject; v=DMARC1", None),  # the version comes first
        ("v=spf1 -all", None),
        ("", None),
    ],
)
def test_a_record_is_read_by_its_tags(text: str, expected: DmarcRecord | None) -> None:
    assert dmarc.parse_record(text) == expected


def test_two_records_at_one_name_make_no_policy() -> None:
    assert dmarc.pick_record(["v=DMARC1; p=reject", "v=DMARC1; p=none"]) == "many"
    assert dmarc.pick_record(["v=spf1 -all", "v=DMARC1; p=none"]) == DmarcRecord(p="none")
    assert dmarc.pick_record(["google-site-verification=x"]) is None


def test_the_organisational_domain_comes_from_the_public_suffix_list() -> None:
    assert dmarc.organisational_domain("mail.news.example.co.uk") == "example.co.uk"
    assert dmarc.organisational_domain("Example.COM.") == "example.com"


@pytest.mark.parametrize(
    ("identifier", "from_domain", "mode", "expected"),
    [
        ("example.com", "example.com", "s", True),
        ("mail.example.com", "example.com", "r", True),
        ("mail.example.com", "example.com", "s", False),
        ("example.co.uk", "other.co.uk", "r", False),  # siblings under a public suffix are not one organisation
        ("evil-example.com", "example.com", "r", False),
        (None, "example.com", "r", False),
    ],
)
def test_alignment_relaxed_and_strict(identifier: str | None, from_domain: str, mode: str, expected: bool) -> None:
    assert dmarc.aligned(identifier, from_domain, mode) is expected


def test_either_aligned_method_passes_and_a_subdomain_gets_sp() -> None:
    record = DmarcRecord(p="reject", sp="none")
    spf_only = dmarc.evaluate(
        from_domain="example.com",
        record=record,
        record_domain="example.com",
        spf_result="pass",
        spf_domain="bounces.example.com",
        dkim_domains=(),
    )
    unaligned = dmarc.evaluate(
        from_domain="example.com",
        record=record,
        record_domain="example.com",
        spf_result="pass",
        spf_domain="mailer.net",
        dkim_domains=("mailer.net",),
    )
    subdomain = dmarc.evaluate(
        from_domain="news.example.com",
        record=record,
        record_domain="example.com",
        spf_result="fail",
        spf_domain=None,
        dkim_domains=(),
    )

    assert (spf_only.result, spf_only.policy) == ("pass", "reject")
    assert (unaligned.result, unaligned.policy) == ("fail", "reject")
    assert (subdomain.result, subdomain.policy) == ("fail", "none")
