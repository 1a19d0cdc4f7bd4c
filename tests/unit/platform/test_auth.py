"""Bearer tokens: who may call, and who may mint."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from crm_platform.auth import TokenVerifier, mint, mint_for
from crm_platform.context import Caller
from crm_platform.errors import Unauthenticated
from crm_platform.settings import Settings

SECRET = "unit-test-secret-of-enough-length-for-hs256"
DEV = Settings(service="contacts", database_url="sqlite://", jwt_secret=SECRET)


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    base = {"sub": "user-1", "workspace_id": "ws-1", "role": "agent", "iat": now, "exp": now + 60}
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def hs256(secret: str = SECRET, **overrides: Any) -> str:
    return jwt.encode(claims(**overrides), secret, algorithm="HS256")


def test_a_valid_token_gives_the_caller() -> None:
    assert TokenVerifier(DEV).verify(hs256(role="admin")) == Caller(workspace_id="ws-1", user_id="user-1", role="admin")


def test_an_expired_token_is_refused() -> None:
    with pytest.raises(Unauthenticated, match="expired"):
        TokenVerifier(DEV).verify(hs256(exp=int(time.time()) - 120))


def test_a_token_verified_once_is_not_checked_again_while_trusted(monkeypatch: pytest.MonkeyPatch) -> None:
    verifier, token = TokenVerifier(DEV), hs256()
    verifier.verify(token)
    monkeypatch.setattr(jwt, "decode", lambda *_a, **_k: pytest.fail("the signature was checked again"))

    assert verifier.verify(token) == Caller(workspace_id="ws-1", user_id="user-1", role="agent")


@pytest.mark.parametrize(("expires_in", "later"), [(5, 6), (3600, 61)], ids=["past-its-expiry", "after-a-minute"])
def test_a_verified_token_is_checked_again(monkeypatch: pytest.MonkeyPatch, expires_in: int, later: int) -> None:
    now = time.time()
    verifier, token = TokenVerifier(DEV), hs256(exp=int(now) + expires_in)
    verifier.verify(token)
    checked: list[str] = []
    real_decode = jwt.decode
    monkeypatch.setattr(jwt, "decode", lambda *a, **k: checked.append("again") or real_decode(*a, **k))
    monkeypatch.setattr(time, "time", lambda: now + later)

    verifier.verify(token)  # jwt.decode reads the real clock, so the token itself is still valid here

    assert checked == ["again"]


def test_a_token_signed_with_another_secret_is_refused() -> None:
    with pytest.raises(Unauthenticated, match="invalid bearer token"):
        TokenVerifier(DEV).verify(hs256(secret="someone-elses-secret-of-enough-length"))


def test_a_token_without_workspace_is_refused() -> None:
    with pytest.raises(Unauthenticated, match="workspace_id"):
        TokenVerifier(DEV).verify(hs256(workspace_id=None))


@pytest.mark.parametrize("role", ["owner", "", None, "system"])
def test_a_token_with_a_role_other_than_admin_or_agent_is_refused(role: str | None) -> None:
    with pytest.raises(Unauthenticated, match="role"):
        TokenVerifier(DEV).verify(hs256(role=role))


def test_a_token_without_expiry_is_refused() -> None:
    token = jwt.encode({"sub": "u", "workspace_id": "ws", "role": "agent"}, SECRET, algorithm="HS256")

    with pytest.raises(Unauthenticated, match="exp"):
        TokenVerifier(DEV).verify(token)


def test_an_unsigned_token_is_refused() -> None:
    token = jwt.encode(claims(), None, algorithm="none")

    with pytest.raises(Unauthenticated):
        TokenVerifier(DEV).verify(token)


def test_garbage_is_refused() -> None:
    with pytest.raises(Unauthenticated):
        TokenVerifier(DEV).verify("not.a.token")


def test_audience_and_issuer_are_checked_when_configured() -> None:
    settings = Settings(
        service="contacts", database_url="sqlite://", jwt_secret=SECRET, jwt_audience="crm", jwt_issuer="https://idp"
    )
    verifier = TokenVerifier(settings)

    assert verifier.verify(hs256(aud="crm", iss="https://idp")).workspace_id == "ws-1"
    with pytest.raises(Unauthenticated):
        verifier.verify(hs256(aud="other", iss="https://idp"))
    with pytest.raises(Unauthenticated):
        verifier.verify(hs256(aud="crm", iss="https://evil"))


def test_a_minted_token_verifies_to_the_caller_it_was_minted_for() -> None:
    token = mint_for(DEV, workspace_id="ws-9", user_id="u-9", role="admin")

    assert TokenVerifier(DEV).verify(token) == Caller(workspace_id="ws-9", user_id="u-9", role="admin")


def test_minting_is_refused_without_the_development_secret() -> None:
    with pytest.raises(Unauthenticated, match="CRM_JWT_SECRET"):
        mint(secret=None, production=False, workspace_id="ws", user_id="u", role="agent")


def test_minting_is_refused_in_production_even_with_a_secret() -> None:
    with pytest.raises(Unauthenticated, match="outside production"):
        mint(secret=SECRET, production=True, workspace_id="ws", user_id="u", role="agent")


def test_minting_an_unknown_role_is_refused() -> None:
    with pytest.raises(ValueError, match="role"):
        mint(secret=SECRET, production=False, workspace_id="ws", user_id="u", role="owner")


# JWKS (production) ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def identity_provider() -> Iterator[tuple[str, rsa.RSAPrivateKey]]:
    """A tiny identity provider on loopback serving one RS256 public key as a JWKS."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    jwks = json.dumps({"keys": [{**jwk, "kid": "key-1", "use": "sig", "alg": "RS256"}]}).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(jwks)))
            self.end_headers()
            self.wfile.write(jwks)

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/.well-known/jwks.json", key
    server.shutdown()
    server.server_close()


def production(jwks_url: str) -> Settings:
    return Settings(
        service="contacts",
        database_url="sqlite://",
        environment="production",
        jwt_jwks_url=jwks_url,
        jwt_audience="crm",
    )


def test_a_token_signed_by_the_identity_provider_is_verified_with_its_jwks(identity_provider) -> None:  # type: ignore[no-untyped-def]
    url, key = identity_provider
    token = jwt.encode(claims(aud="crm"), key, algorithm="RS256", headers={"kid": "key-1"})

    assert TokenVerifier(production(url)).verify(token) == Caller(workspace_id="ws-1", user_id="user-1", role="agent")


def test_a_token_signed_by_another_key_is_refused_in_production(identity_provider) -> None:  # type: ignore[no-untyped-def]
    url, _key = identity_provider
    intruder = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = jwt.encode(claims(aud="crm"), intruder, algorithm="RS256", headers={"kid": "key-1"})

    with pytest.raises(Unauthenticated):
        TokenVerifier(production(url)).verify(token)


def test_a_development_hs256_token_is_refused_in_production(identity_provider) -> None:  # type: ignore[no-untyped-def]
    url, _key = identity_provider
    token = jwt.encode(claims(aud="crm"), SECRET, algorithm="HS256", headers={"kid": "key-1"})

    with pytest.raises(Unauthenticated):
        TokenVerifier(production(url)).verify(token)
