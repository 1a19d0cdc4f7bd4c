"""Service tokens: short-lived JWTs, signed with a calling service's own Ed25519 key, that prove to a gRPC
server which service calls it (and, for work a worker does on its own, the workspace it acts for)."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from crm_platform import discovery
from crm_platform.context import Caller
from crm_platform.errors import Unauthenticated
from crm_platform.signing import b64, unb64

SERVICE_TOKEN_METADATA = "x-crm-service-token"  # the gRPC metadata key a service token travels in
SERVICE_TOKEN_SECONDS = 120
# A cached token is replaced once less than this is left, so a token never expires in flight (a call's
# deadline is seconds) and a server's clock may run this much ahead.
REMINT_BEFORE_SECONDS = 60
# The longest lifetime a server accepts: a token lost on the wire is worthless this soon after.
MAX_SERVICE_TOKEN_SECONDS = 300
TOKENS_KEPT = 4096  # per process; a worker acting for many workspaces holds one token per workspace


def decode_key(text: str) -> bytes:
    """The 32 raw bytes of an Ed25519 key written as base64url; ValueError when it is not one."""
    try:
        raw = unb64(text.strip())
    except (ValueError, TypeError):
        raise ValueError("not base64url") from None
    if len(raw) != 32:
        raise ValueError(f"an Ed25519 key is 32 bytes, this one is {len(raw)}")
    return raw


def new_private_key() -> str:
    """A fresh private key (base64url of the 32-byte seed)."""
    from cryptography.hazmat.primitives.serialization import NoEncryption, PrivateFormat

    key = Ed25519PrivateKey.generate()
    return b64(key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption()))


def public_key_of(private_key: str) -> str:
    key = Ed25519PrivateKey.from_private_bytes(decode_key(private_key))
    return b64(key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))


def key_id(public_key: str) -> str:
    """A short name of a public key, sent in the token's header so the server picks the key at once."""
    return b64(hashlib.sha256(decode_key(public_key)).digest()[:12])


def format_trusted(trusted: Mapping[str, Sequence[str]]) -> str:
    """``CRM_TRUSTED_SERVICE_KEYS``: ``service:public-key`` pairs separated by commas."""
    return ",".join(f"{service}:{key}" for service, keys in sorted(trusted.items()) for key in keys)


class ServiceTokenMinter:
    """Signs this service's tokens, one per (target, workspace), reused until shortly before expiry."""

    def __init__(self, service: str, private_key: str | None) -> None:
        self.service = service
        self._key = Ed25519PrivateKey.from_private_bytes(decode_key(private_key)) if private_key else None
        self._kid = key_id(public_key_of(private_key)) if private_key else ""
        self._tokens: dict[tuple[str, str], tuple[str, float]] = {}  # -> (token, re-mint after; time.time())
        self._lock = threading.Lock()

    def token(self, audience: str, workspace_id: str | None = None) -> str:
        """A token for calls to ``audience`` (a protobuf service name), acting for ``workspace_id`` if given."""
        cache_key = (audience, workspace_id or "")
        now = time.time()
        cached = self._tokens.get(cache_key)
        if cached is not None and now < cached[1]:
            return cached[0]
        if self._key is None:
            raise Unauthenticated(f"{self.service.upper()}_SERVICE_KEY is not set: {self.service} cannot call gRPC")
        claims: dict[str, object] = {
            "iss": self.service,
            "sub": self.service,
            "aud": audience,
            "iat": int(now),
            "exp": int(now) + SERVICE_TOKEN_SECONDS,
        }
        if workspace_id:
            claims["workspace_id"] = workspace_id
        minted = jwt.encode(claims, self._key, algorithm="EdDSA", headers={"kid": self._kid})
        with self._lock:
            if len(self._tokens) >= TOKENS_KEPT:
                self._tokens.clear()
            self._tokens[cache_key] = (minted, now + SERVICE_TOKEN_SECONDS - REMINT_BEFORE_SECONDS)
        return minted


@dataclass(frozen=True)
class ServiceCredential:
    """What a verified service token proves: the calling service, and the caller it acts as, if any."""

    service: str
    audience: str
    caller: Caller | None  # set when the token names a workspace: the service acts on its own


class ServiceTokenVerifier:
    """Checks service tokens against the trusted public keys; a key removed from them is revoked."""

    def __init__(self, trusted: Mapping[str, Sequence[str]]) -> None:
        self._keys: dict[str, tuple[str, Ed25519PublicKey]] = {
            key_id(key): (service, Ed25519PublicKey.from_public_bytes(decode_key(key)))
            for service, keys in trusted.items()
            for key in keys
        }
        self._verified: dict[str, tuple[ServiceCredential, float]] = {}  # token -> (credential, until)

    def verify(self, token: str, audience: str) -> ServiceCredential:
        """The credential of a token meant for ``audience``; Unauthenticated when it is not valid now."""
        now = time.time()
        known = self._verified.get(token)
        if known is None or now >= known[1]:
            credential, expires = self._check(token)
            if len(self._verified) >= TOKENS_KEPT:
                self._verified.clear()
            known = self._verified[token] = (credential, expires)
        if known[0].audience != audience:
            raise Unauthenticated(f"the service token is meant for {known[0].audience}, not {audience}")
        return known[0]

    def _check(self, token: str) -> tuple[ServiceCredential, float]:
        try:
            kid = jwt.get_unverified_header(token).get("kid")
            found = self._keys.get(kid) if isinstance(kid, str) else None
            if found is None:
                raise Unauthenticated("the service token is signed with a key that is not trusted")
            service, key = found
            claims = jwt.decode(
                token,
                key,
                algorithms=["EdDSA"],
                issuer=service,
                options={"require": ["exp", "iat", "sub", "aud"], "verify_aud": False},
            )
        except jwt.PyJWTError as exc:
            raise Unauthenticated(f"invalid service token: {exc}") from exc
        if claims["sub"] != service or claims["exp"] - claims["iat"] > MAX_SERVICE_TOKEN_SECONDS:
            raise Unauthenticated("the service token names another service or lives too long")
        workspace_id = claims.get("workspace_id")
        caller = (
            Caller(workspace_id=str(workspace_id), user_id=f"system:{service}", role="system") if workspace_id else None
        )
        return ServiceCredential(service=service, audience=str(claims["aud"]), caller=caller), float(claims["exp"])


def local_keys(folder: Path, services: Sequence[str]) -> dict[str, str]:
    """The key settings of a development stack (``crm run``, ``crm up``): one key per service, made on the
    first run under ``folder`` like the development JWT secret, and every service trusting all of them."""
    folder.mkdir(parents=True, exist_ok=True)
    env, trusted = {}, {}
    for service in services:
        path = folder / f"{service}.key"
        if not path.exists():
            path.write_text(new_private_key())
            path.chmod(0o600)
        private_key = path.read_text().strip()
        env[discovery.variable(service, "SERVICE_KEY")] = private_key
        trusted[service] = [public_key_of(private_key)]
    env["CRM_TRUSTED_SERVICE_KEYS"] = format_trusted(trusted)
    return env
