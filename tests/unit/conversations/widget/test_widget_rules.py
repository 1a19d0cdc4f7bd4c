"""The widget's pure rules: the identity HMAC, who is let in, origins, and visitor tokens' expiry and binding."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import pytest

from crm_conversations.widget import rules, tokens
from crm_platform.errors import Forbidden, InvalidInput

SECRET = "s" * 64
NOW = datetime(2026, 12, 1, 19, 0, tzinfo=UTC)
KEY = tokens.TokenKey(b"k" * 32)


def site_hash(user_id: str, secret: str = SECRET) -> str:
    return hmac.new(secret.encode(), user_id.encode(), hashlib.sha256).hexdigest()


def test_the_identity_hash_is_the_hmac_sha256_of_the_identifier_with_the_inbox_secret() -> None:
    assert rules.identity_matches(SECRET, "u-1", site_hash("u-1"))
    assert rules.identity_matches(SECRET, "u-1", site_hash("u-1").upper())
    assert not rules.identity_matches(SECRET, "u-2", site_hash("u-1"))
    assert not rules.identity_matches(SECRET, "u-1", site_hash("u-1", "another secret"))
    assert not rules.identity_matches(SECRET, "u-1", site_hash("u-1")[:-1])
    assert not rules.identity_matches(SECRET, "", "")


def test_a_wrong_hash_is_refused_never_taken_for_an_anonymous_visitor() -> None:
    forged = rules.Visitor(user_id="u-1", user_hash=site_hash("u-1", "guess"), email="ana@example.com")
    with pytest.raises(Forbidden) as refused:
        rules.admit(forged, secret=SECRET, strict=False, prechat_form=False)
    assert [e.code for e in refused.value.errors] == ["identity_mismatch"]


def test_strict_mode_lets_in_only_verified_identities() -> None:
    known = rules.Visitor(user_id="u-1", user_hash=site_hash("u-1"), email="Ana@Example.com", name=" Ana  López ")
    admitted = rules.admit(known, secret=SECRET, strict=True, prechat_form=True)
    assert admitted == rules.Admission(verified=True, email="ana@example.com", name="Ana López")
    with pytest.raises(Forbidden):
        rules.admit(rules.Visitor(email="ana@example.com", name="Ana"), secret=SECRET, strict=True, prechat_form=False)


def test_the_prechat_form_asks_an_anonymous_visitor_for_name_and_email() -> None:
    with pytest.raises(InvalidInput) as missing:
        rules.admit(rules.Visitor(name="  "), secret=SECRET, strict=False, prechat_form=True)
    assert sorted(e.field for e in missing.value.errors) == ["email", "name"]
    anonymous = rules.admit(rules.Visitor(), secret=SECRET, strict=False, prechat_form=False)
    assert anonymous == rules.Admission(verified=False, email=None, name="")


@pytest.mark.parametrize(
    ("raw", "origin"),
    [
        ("https://Shop.Example.com", "https://shop.example.com"),
        ("https://shop.example.com:443/", "https://shop.example.com"),
        ("http://127.0.0.1:8123", "http://127.0.0.1:8123"),
        ("https://shop.example.com/path", None),
        ("*.example.com", None),
        ("ftp://shop.example.com", None),
        ("https://user:pw@shop.example.com", None),
    ],
)
def test_origins_are_compared_as_browsers_send_them(raw: str, origin: str | None) -> None:
    assert rules.origin_of(raw) == origin


def test_only_listed_origins_are_allowed() -> None:
    allowed = rules.clean_origins(["https://shop.example.com", "https://SHOP.example.com"])
    assert allowed == ["https://shop.example.com"]
    assert rules.origin_allowed(allowed, "https://shop.example.com")
    assert not rules.origin_allowed(allowed, "https://shop.example.com.evil.test")
    assert not rules.origin_allowed(allowed, None)
    assert not rules.origin_allowed(allowed, "null")


def _mint(**overrides: object) -> str:
    fields: dict[str, object] = {
        "workspace_id": "w-1",
        "inbox_id": "i-1",
        "conversation_id": "c-1",
        "visitor_id": "v-1",
        "contact_id": None,
        "ttl": timedelta(minutes=30),
        "now": NOW,
        **overrides,
    }
    return tokens.mint_visitor_token(KEY, **fields)  # type: ignore[arg-type]


def test_a_visitor_token_names_its_chat_until_it_expires() -> None:
    token = _mint(contact_id="k-1")
    session = tokens.verify(KEY, token, now=NOW + timedelta(minutes=29))
    assert (
        session.workspace_id,
        session.inbox_id,
        session.conversation_id,
        session.visitor_id,
        session.contact_id,
    ) == (
        "w-1",
        "i-1",
        "c-1",
        "v-1",
        "k-1",
    )
    with pytest.raises(tokens.InvalidVisitorToken, match="expired"):
        tokens.verify(KEY, token, now=NOW + timedelta(minutes=30))


def test_a_token_altered_or_signed_with_another_key_is_refused() -> None:
    token = _mint()
    prefix, payload, mac = token.split(".")
    other = _mint(conversation_id="c-2").split(".")[1]
    for bad in (f"{prefix}.{other}.{mac}", f"{prefix}.{payload}.{mac[:-2]}", "v2" + token[2:], "", "a.b", token + "="):
        with pytest.raises(tokens.InvalidVisitorToken):
            tokens.verify(KEY, bad, now=NOW)
    with pytest.raises(tokens.InvalidVisitorToken):
        tokens.verify(tokens.TokenKey(b"o" * 32), token, now=NOW)


def test_the_token_key_is_required_in_production_and_derived_in_development() -> None:
    from crm_platform.settings import SettingsError

    with pytest.raises(SettingsError):
        tokens.key_for(None, jwt_secret=None, production=True)
    with pytest.raises(SettingsError):
        tokens.key_for("short", jwt_secret="x", production=False)
    derived = tokens.key_for(None, jwt_secret="dev secret", production=False)
    assert derived == tokens.key_for(None, jwt_secret="dev secret", production=False)
    assert derived != tokens.key_for(None, jwt_secret="another", production=False)
