"""Service tokens: signed once and reused on the hot path, refused when forged, revoked, stale or misaddressed."""

from __future__ import annotations

import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from crm_platform import service_tokens
from crm_platform.errors import Unauthenticated
from crm_platform.service_tokens import (
    REMINT_BEFORE_SECONDS,
    SERVICE_TOKEN_SECONDS,
    ServiceTokenMinter,
    ServiceTokenVerifier,
    decode_key,
    key_id,
    public_key_of,
)
from tests.support import service_keys

CONTACTS = "crm.contacts.v1.ContactsService"


def trusting(*services: str) -> ServiceTokenVerifier:
    return ServiceTokenVerifier({s: [public_key_of(service_keys.private_key(s))] for s in services})


def minter(service: str) -> ServiceTokenMinter:
    return ServiceTokenMinter(service, service_keys.private_key(service))


def test_a_token_is_signed_once_and_reused_until_shortly_before_it_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    mailer, now = minter("mailer"), time.time()
    monkeypatch.setattr(service_tokens.time, "time", lambda: now)
    first = mailer.token(CONTACTS, "ws-1")

    monkeypatch.setattr(service_tokens.time, "time", lambda: now + SERVICE_TOKEN_SECONDS - REMINT_BEFORE_SECONDS - 1)
    reused = mailer.token(CONTACTS, "ws-1")
    other_workspace = mailer.token(CONTACTS, "ws-2")
    monkeypatch.setattr(service_tokens.time, "time", lambda: now + SERVICE_TOKEN_SECONDS - REMINT_BEFORE_SECONDS + 1)
    renewed = mailer.token(CONTACTS, "ws-1")

    assert reused is first
    assert other_workspace != first
    assert renewed != first
    assert jwt.decode(renewed, options={"verify_signature": False})["exp"] > now + SERVICE_TOKEN_SECONDS


def test_a_verified_token_names_its_service_and_the_workspace_it_acts_for() -> None:
    credential = trusting("mailer").verify(minter("mailer").token(CONTACTS, "ws-1"), CONTACTS)

    assert credential.service == "mailer"
    assert credential.caller is not None
    assert (credential.caller.workspace_id, credential.caller.user_id, credential.caller.role) == (
        "ws-1",
        "system:mailer",
        "system",
    )


def test_a_token_forwarding_a_user_acts_for_no_workspace_of_its_own() -> None:
    assert trusting("tickets").verify(minter("tickets").token(CONTACTS), CONTACTS).caller is None


def test_a_key_that_is_not_trusted_is_refused() -> None:
    with pytest.raises(Unauthenticated, match="not trusted"):
        trusting("tickets").verify(minter("mailer").token(CONTACTS, "ws-1"), CONTACTS)


def test_a_token_meant_for_another_service_is_refused_even_from_the_cache() -> None:
    verifier, token = trusting("mailer"), minter("mailer").token(CONTACTS, "ws-1")
    verifier.verify(token, CONTACTS)

    with pytest.raises(Unauthenticated, match="meant for"):
        verifier.verify(token, "crm.tickets.v1.TicketsService")


def _signed(service_key: str, **claims: object) -> str:
    key = Ed25519PrivateKey.from_private_bytes(decode_key(service_key))
    return jwt.encode(claims, key, algorithm="EdDSA", headers={"kid": key_id(public_key_of(service_key))})


def test_a_key_cannot_sign_for_another_service() -> None:
    now = int(time.time())
    token = _signed(
        service_keys.private_key("reports"), iss="reports", sub="mailer", aud=CONTACTS, iat=now, exp=now + 60
    )

    with pytest.raises(Unauthenticated):
        trusting("reports", "mailer").verify(token, CONTACTS)


def test_a_token_that_lives_longer_than_five_minutes_is_refused() -> None:
    now = int(time.time())
    token = _signed(
        service_keys.private_key("mailer"), iss="mailer", sub="mailer", aud=CONTACTS, iat=now, exp=now + 3600
    )

    with pytest.raises(Unauthenticated, match="lives too long"):
        trusting("mailer").verify(token, CONTACTS)


def test_a_service_without_a_key_cannot_mint() -> None:
    with pytest.raises(Unauthenticated, match="REPORTS_SERVICE_KEY is not set"):
        ServiceTokenMinter("reports", None).token(CONTACTS, "ws-1")
