"""Sender domain rules without I/O: which domains may be added, the records to publish, what found records mean."""

from __future__ import annotations

from pathlib import Path

import pytest

from crm_mailer.domains import rules
from crm_mailer.domains.dkim import cipher_for, new_key_pair, parse_encryption_keys
from crm_mailer.domains.rules import FAILED, MISSING, OK, PENDING, UNKNOWN, VERIFIED, WRONG, Finding
from crm_mailer.settings import MailerSettings
from crm_platform.errors import InvalidInput
from crm_platform.settings import SettingsError, load, read_declared

INCLUDE = "_spf.crm-platform.net"


def refusal_code(name: str) -> str | None:
    try:
        rules.check_may_add(rules.normalise(name), platform_domain="crm-platform.net")
    except InvalidInput as refused:
        return refused.errors[0].code
    return None


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [("Acme.COM.", "acme.com"), ("  mail.acme.co.uk ", "mail.acme.co.uk"), ("bücher.de", "xn--bcher-kva.de")],
)
def test_domains_are_stored_lower_case_in_ascii_form(raw: str, normalised: str) -> None:
    assert rules.normalise(raw) == normalised


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("gmail.com", "free_mail"),
        ("hotmail.com", "free_mail"),
        ("yahoo.com", "free_mail"),
        ("icloud.com", "free_mail"),
        ("proton.me", "free_mail"),
        ("eu.gmx.net", "free_mail"),
        ("com", "invalid"),
        ("co.uk", "public_suffix"),
        ("blogspot.com", "public_suffix"),
        ("acme.nosuchtld", "unknown_tld"),
        ("crm-platform.net", "platform_domain"),
        ("bounces.crm-platform.net", "platform_domain"),
        ("-acme.com", "invalid"),
        ("acme..com", "invalid"),
        ("a" * 64 + ".com", "invalid"),
        ("10.0.0.1", "invalid"),
        ("acme.com", None),
        ("mail.acme.co.uk", None),
        ("gmail-lovers.com", None),
    ],
)
def test_free_mail_public_suffixes_and_what_is_no_domain_are_refused(name: str, code: str | None) -> None:
    assert refusal_code(name) == code


def test_the_free_mail_list_is_data_beside_the_code() -> None:
    listed = rules.free_mail_domains()

    assert {"gmail.com", "outlook.com", "hotmail.com", "yahoo.com", "icloud.com", "gmx.de", "proton.me"} <= listed
    assert all(not line.startswith("#") for line in listed)
    assert rules.FREE_MAIL_FILE.parent == Path(rules.__file__).parent


@pytest.mark.parametrize(
    ("existing", "expected"),
    [
        (None, f"v=spf1 include:{INCLUDE} ~all"),
        ("v=spf1 mx -all", f"v=spf1 mx include:{INCLUDE} -all"),
        ("v=spf1 include:_spf.google.com ?all", f"v=spf1 include:_spf.google.com include:{INCLUDE} ?all"),
        ("v=spf1 a redirect=_spf.acme.com", f"v=spf1 a include:{INCLUDE} redirect=_spf.acme.com"),
        ("v=spf1 ip4:192.0.2.1", f"v=spf1 ip4:192.0.2.1 include:{INCLUDE}"),
        (f"v=spf1 include:{INCLUDE} ~all", f"v=spf1 include:{INCLUDE} ~all"),
    ],
)
def test_the_spf_record_to_publish_adds_our_include_to_the_domains_own(existing: str | None, expected: str) -> None:
    assert rules.spf_value(existing, INCLUDE) == expected


def test_dkim_record_text_names_the_selector_and_the_key() -> None:
    pair = new_key_pair()

    assert rules.dkim_name("crm20261201ab12", "acme.com") == "crm20261201ab12._domainkey.acme.com"
    assert rules.dkim_value(pair.public_key) == f"v=DKIM1; k=rsa; p={pair.public_key}"
    assert pair.private_pem.startswith(b"-----BEGIN RSA PRIVATE KEY-----")


@pytest.mark.parametrize(
    ("found", "status", "problem"),
    [
        ([], MISSING, "no TXT record at s._domainkey.acme.com"),
        (["v=DKIM1; k=rsa; p=KEY"], OK, None),
        (["v=DKIM1; k=rsa; p=K E\tY"], OK, None),  # providers split long keys; whitespace is not part of it
        (["p=KEY"], OK, None),
        (
            ["v=DKIM1; k=rsa; p=OTHER"],
            WRONG,
            "the public key (p=) is not this domain's key: copy the expected value again",
        ),
        (["v=DKIM1; k=rsa; p="], WRONG, "the key is revoked (empty p=)"),
        (["v=DKIM1; k=ed25519; p=KEY"], WRONG, "the key type is k=ed25519; this key is k=rsa"),
        (
            ["v=DKIM1; k=rsa; p=KEY", "v=DKIM1; p=KEY"],
            WRONG,
            "2 TXT records at s._domainkey.acme.com; keep only this key's",
        ),
    ],
)
def test_a_dkim_record_is_right_only_with_this_key(found: list[str], status: str, problem: str | None) -> None:
    finding = rules.check_dkim(found, name="s._domainkey.acme.com", public_key="KEY")

    assert (finding.status, finding.problem) == (status, problem)
    assert finding.expected == "v=DKIM1; k=rsa; p=KEY"


@pytest.mark.parametrize(
    ("found", "status"),
    [
        ([], MISSING),
        (["google-site-verification=x"], MISSING),
        ([f"v=spf1 include:{INCLUDE} ~all", "other"], OK),
        ([f"V=SPF1 +include:{INCLUDE.upper()} -all"], OK),
        (["v=spf1 mx ~all"], WRONG),
        (["v=spf1 mx ~all", f"v=spf1 include:{INCLUDE} ~all"], WRONG),
        (["v=spf10 include:x"], MISSING),
    ],
)
def test_an_spf_record_is_right_when_it_is_the_only_one_and_includes_the_platform(
    found: list[str], status: str
) -> None:
    assert rules.check_spf(found, domain="acme.com", include_host=INCLUDE).status == status


@pytest.mark.parametrize(
    ("found", "inherited", "status", "note"),
    [
        ([], [], MISSING, None),
        (["v=DMARC1; p=none"], [], OK, None),
        (["v=DMARC1;p=reject; rua=mailto:x@acme.com"], [], OK, None),
        (["v=DMARC1; rua=mailto:x@acme.com"], [], WRONG, None),
        (["v=DMARC1; p=maybe"], [], WRONG, None),
        (["v=DMARC1; p=none", "v=DMARC1; p=reject"], [], WRONG, None),
        ([], ["v=DMARC1; p=quarantine"], OK, "inherited from _dmarc.acme.com"),
    ],
)
def test_a_dmarc_record_needs_a_policy_and_may_be_the_organisational_domains(
    found: list[str], inherited: list[str], status: str, note: str | None
) -> None:
    finding = rules.check_dmarc(found, domain="mail.acme.com", inherited=inherited, from_domain="acme.com")

    assert (finding.status, finding.note) == (status, note)


def findings(*statuses: str) -> list[Finding]:
    return [Finding(status, "") for status in statuses]


@pytest.mark.parametrize(
    ("statuses", "previous", "was_verified", "after"),
    [
        ((OK, OK, OK), PENDING, False, VERIFIED),
        ((OK, MISSING, OK), PENDING, False, PENDING),  # still waiting for the owner to publish
        ((OK, MISSING, OK), VERIFIED, True, FAILED),  # it stopped passing
        ((OK, WRONG, MISSING), PENDING, False, FAILED),
        ((OK, UNKNOWN, OK), VERIFIED, True, VERIFIED),  # a silent DNS server decides nothing
        ((OK, UNKNOWN, OK), PENDING, False, PENDING),
        ((WRONG, UNKNOWN, OK), VERIFIED, True, FAILED),
    ],
)
def test_the_domains_status_follows_from_its_records(
    statuses: tuple[str, ...], previous: str, was_verified: bool, after: str
) -> None:
    assert rules.status_after_check(findings(*statuses), previous=previous, was_verified=was_verified) == after


def mailer_settings(tmp_path: Path, **extra: str) -> MailerSettings:
    env = {
        "MAILER_DATABASE_URL": f"sqlite:///{tmp_path}/mailer.db",
        "CRM_LOCAL_BUS_URL": f"sqlite:///{tmp_path}/bus.db",
        "MAILER_MAILDIR": str(tmp_path / "mail"),
        **extra,
    }
    return read_declared(MailerSettings, load("mailer", env))


def test_production_needs_the_dkim_encryption_key_to_start_the_mailer(tmp_path: Path) -> None:
    from cryptography.fernet import Fernet

    from crm_mailer.app import SERVICE as MAILER
    from crm_platform.service import bootstrap
    from crm_platform.web import create_app
    from tests.support import service_keys

    env = {
        "MAILER_DATABASE_URL": f"sqlite:///{tmp_path}/mailer.db",
        "CRM_LOCAL_BUS_URL": f"sqlite:///{tmp_path}/bus.db",
        "MAILER_MAILDIR": str(tmp_path / "mail"),
        "CRM_JWT_JWKS_URL": "https://idp.example.com/jwks",
        "CRM_ENV": "production",
        **service_keys.env(),
    }
    rt = bootstrap(MAILER, load("mailer", env))
    with pytest.raises(SettingsError, match="MAILER_DKIM_ENCRYPTION_KEYS is required"):
        create_app(rt)
    rt.close()
    env["MAILER_DKIM_ENCRYPTION_KEYS"] = Fernet.generate_key().decode()
    for missing in ("MAILER_INBOUND_DOMAIN", "MAILER_TOKEN_KEY"):  # outbound mail's tokens are required too
        partial = {**env, "MAILER_INBOUND_DOMAIN": "in.example.com", "MAILER_TOKEN_KEY": "k" * 40}
        del partial[missing]
        unkeyed = bootstrap(MAILER, load("mailer", partial))
        with pytest.raises(SettingsError, match=f"{missing} is required"):
            create_app(unkeyed)
        unkeyed.close()
    keyed = bootstrap(
        MAILER, load("mailer", {**env, "MAILER_INBOUND_DOMAIN": "in.example.com", "MAILER_TOKEN_KEY": "k" * 40})
    )
    assert create_app(keyed) is not None
    keyed.close()


def test_development_derives_a_stable_key_from_its_jwt_secret(tmp_path: Path) -> None:
    development = load(
        "mailer", {"MAILER_DATABASE_URL": "sqlite://", "CRM_LOCAL_BUS_URL": "sqlite://", "CRM_JWT_SECRET": "s" * 40}
    )
    other = load(
        "mailer", {"MAILER_DATABASE_URL": "sqlite://", "CRM_LOCAL_BUS_URL": "sqlite://", "CRM_JWT_SECRET": "t" * 40}
    )
    token = cipher_for(None, development).encrypt(b"pem")

    assert cipher_for(None, development).decrypt(token) == b"pem"
    with pytest.raises(SettingsError, match="cannot be decrypted"):
        cipher_for(None, other).decrypt(token)


def test_the_encryption_key_can_be_rotated(tmp_path: Path) -> None:
    from cryptography.fernet import Fernet

    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    development = load(
        "mailer", {"MAILER_DATABASE_URL": "sqlite://", "CRM_LOCAL_BUS_URL": "sqlite://", "CRM_JWT_SECRET": "s" * 40}
    )
    token = cipher_for(old, development).encrypt(b"pem")

    assert cipher_for(f"{new},{old}", development).decrypt(token) == b"pem"
    assert parse_encryption_keys(f" {new} , {old} ") == [new.encode(), old.encode()]


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("MAILER_DKIM_ENCRYPTION_KEYS", "not-a-key", "must be a Fernet key"),
        ("MAILER_DNS_RESOLVER", "127.0.0.1:99999", "MAILER_DNS_RESOLVER must be host or host:port"),
        ("MAILER_DNS_TIMEOUT_SECONDS", "0", "MAILER_DNS_TIMEOUT_SECONDS must be a positive"),
        ("MAILER_DOMAIN_RECHECK_SECONDS", "-5", "MAILER_DOMAIN_RECHECK_SECONDS must be a positive"),
    ],
)
def test_malformed_domain_settings_stop_the_mailer_at_start(
    tmp_path: Path, variable: str, value: str, says: str
) -> None:
    with pytest.raises(SettingsError, match=says):
        mailer_settings(tmp_path, CRM_JWT_SECRET="s" * 40, **{variable: value})


def test_the_platform_domain_and_spf_include_default_from_the_sender(tmp_path: Path) -> None:
    settings = mailer_settings(tmp_path, CRM_JWT_SECRET="s" * 40, MAILER_FROM="CRM <no-reply@Mail.Crm-Platform.net>")

    assert settings.platform_domain == "mail.crm-platform.net"
    assert settings.spf_include_host == "_spf.mail.crm-platform.net"
