"""Which addresses are ours, and whose word on the sender's authentication we take."""

from __future__ import annotations

import pytest

from crm_mailer.inbound import trust
from crm_mailer.inbound.parse import parse
from crm_mailer.inbound.recipients import Recipient, recipient_of

DOMAIN = "in.acme.test"
WORKSPACE = "01a232fe-1a7e-78d3-9c30-bac049db4f17"  # fixed: test ids name it, and parallel runs must agree


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        (f"{WORKSPACE}@in.acme.test", Recipient(f"{WORKSPACE}@in.acme.test", "workspace", WORKSPACE)),
        (f"<{WORKSPACE.upper()}@IN.ACME.TEST>", Recipient(f"{WORKSPACE}@in.acme.test", "workspace", WORKSPACE)),
        ("reply+Ab9_x@in.acme.test", Recipient("reply+ab9_x@in.acme.test", "reply", "Ab9_x")),
        ("bounce+b_7d1e@in.acme.test", Recipient("bounce+b_7d1e@in.acme.test", "bounce", "b_7d1e")),
        ("unsubscribe+u1@in.acme.test", Recipient("unsubscribe+u1@in.acme.test", "unsubscribe", "u1")),
    ],
)
def test_our_addresses_are_recognised(address: str, expected: Recipient) -> None:
    assert recipient_of(address, inbound_domain=DOMAIN) == expected


@pytest.mark.parametrize(
    "address",
    [
        "support@in.acme.test",  # not a workspace id
        f"{WORKSPACE}@elsewhere.test",  # another domain: we relay nothing
        f"{WORKSPACE}@sub.in.acme.test",
        "reply+@in.acme.test",
        "",
        "a@b@in.acme.test",
    ],
)
def test_anything_else_is_not_ours(address: str) -> None:
    assert recipient_of(address, inbound_domain=DOMAIN) is None


def _with(*headers: str) -> bytes:
    return ("".join(f"Authentication-Results: {h}\r\n" for h in headers) + "From: a@example.com\r\n\r\nhi").encode()


def test_dmarc_failure_under_p_reject_from_the_trusted_relay_rejects() -> None:
    message = parse(
        _with(
            "mx.acme.test; spf=fail smtp.mailfrom=example.com; dmarc=fail (p=reject dis=none) header.from=example.com"
        )
    )

    verdict = trust.verdict_of(message, authserv_id="mx.acme.test")

    assert verdict.rejects
    assert verdict.summary == "spf=fail dmarc=fail"


def test_the_published_policy_property_counts_too_and_quarantine_is_no_reject() -> None:
    rejecting = parse(_with("mx.acme.test; dmarc=fail policy.published-domain-policy=reject header.from=example.com"))
    quarantining = parse(_with("mx.acme.test; dmarc=fail (p=quarantine) header.from=example.com"))

    assert trust.verdict_of(rejecting, authserv_id="mx.acme.test").rejects
    assert not trust.verdict_of(quarantining, authserv_id="mx.acme.test").rejects


def test_no_header_is_believed_without_a_trusted_relay_or_from_another_one() -> None:
    message = parse(_with("evil.test; dmarc=pass", "mx.acme.test.evil; dmarc=pass"))

    assert trust.verdict_of(message, authserv_id=None) == trust.AuthVerdict(None)
    assert trust.verdict_of(message, authserv_id="mx.acme.test") == trust.AuthVerdict(None)


def test_the_nearest_trusted_header_wins() -> None:
    message = parse(_with("mx.acme.test; dmarc=pass header.from=example.com", "mx.acme.test; dmarc=fail (p=reject)"))

    assert not trust.verdict_of(message, authserv_id="MX.acme.test").rejects
