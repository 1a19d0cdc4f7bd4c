"""Bearer JWTs: HS256 with a local secret in development, keys from a JWKS URL in production."""

from __future__ import annotations

import time
from typing import Any

import jwt

from crm_platform.context import Caller
from crm_platform.errors import Unauthenticated
from crm_platform.settings import Settings

ROLES = ("admin", "agent")

# A verified token is trusted again for this long (never past its expiry) without checking its signature:
# a client sends the same token with every request, and the check costs more CPU than many a request's work.
# The price: a signing key withdrawn from the JWKS stops being accepted up to this much later.
VERIFIED_TOKEN_SECONDS = 60.0
VERIFIED_TOKENS_KEPT = 4096


class TokenVerifier:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._jwks = jwt.PyJWKClient(settings.jwt_jwks_url, cache_keys=True) if settings.jwt_jwks_url else None
        self._verified: dict[str, tuple[Caller, float]] = {}  # token -> (caller, trusted until; time.time())

    def verify(self, token: str) -> Caller:
        """The caller a bearer token names; Unauthenticated when it is not valid now."""
        now = time.time()
        known = self._verified.get(token)
        if known is not None and now < known[1]:
            return known[0]
        caller, expires = self._check(token)
        if len(self._verified) >= VERIFIED_TOKENS_KEPT:
            self._verified.clear()  # crude but bounded; under a steady load the working set refills at once
        self._verified[token] = (caller, min(expires, now + VERIFIED_TOKEN_SECONDS))
        return caller

    def _check(self, token: str) -> tuple[Caller, float]:
        options: Any = {"require": ["exp", "sub"], "verify_aud": self.settings.jwt_audience is not None}
        try:
            if self._jwks is not None:
                key = self._jwks.get_signing_key_from_jwt(token).key
                algorithms = ["RS256", "ES256", "EdDSA"]
            else:
                key, algorithms = self.settings.jwt_secret, ["HS256"]
            claims = jwt.decode(
                token,
                key,
                algorithms=algorithms,
                audience=self.settings.jwt_audience,
                issuer=self.settings.jwt_issuer,
                options=options,
            )
        except jwt.PyJWTError as exc:
            raise Unauthenticated("invalid bearer token: {reason}", params={"reason": str(exc)}) from exc
        workspace_id, role = claims.get("workspace_id"), claims.get("role")
        if not workspace_id or role not in ROLES:
            raise Unauthenticated("token lacks a workspace_id or a role of admin or agent")
        caller = Caller(workspace_id=str(workspace_id), user_id=str(claims["sub"]), role=role, token=token)
        return caller, float(claims["exp"])


def mint(
    *,
    secret: str | None,
    production: bool,
    workspace_id: str,
    user_id: str,
    role: str,
    audience: str | None = None,
    issuer: str | None = None,
    ttl_seconds: int = 30 * 24 * 3600,
) -> str:
    """A development token; refused unless the development signing secret is configured outside production."""
    if production or not secret:
        raise Unauthenticated("tokens can only be minted with the development secret CRM_JWT_SECRET outside production")
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    now = int(time.time())
    claims = {"sub": user_id, "workspace_id": workspace_id, "role": role, "iat": now, "exp": now + ttl_seconds}
    if audience:
        claims["aud"] = audience
    if issuer:
        claims["iss"] = issuer
    return jwt.encode(claims, secret, algorithm="HS256")


def mint_for(settings: Settings, *, workspace_id: str, user_id: str, role: str) -> str:
    return mint(
        secret=settings.jwt_secret,
        production=settings.is_production,
        workspace_id=workspace_id,
        user_id=user_id,
        role=role,
        audience=settings.jwt_audience,
        issuer=settings.jwt_issuer,
    )
