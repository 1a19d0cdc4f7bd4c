"""Secrets that sign our own short tokens (the mailer's address tokens, the chat widget's visitor tokens), and
the unpadded base64url every token and cursor of the platform is written in.

A service's signing key comes from a setting of its own, required in production; elsewhere, without it, the
key is derived (HKDF-SHA256) from the development JWT secret with a purpose of its own, so tokens survive
restarts, every process of the service agrees on it, and no two purposes share a key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from crm_platform.settings import SettingsError

MIN_KEY_BYTES = 32


@dataclass(frozen=True)
class SigningKey:
    secret: bytes

    def __repr__(self) -> str:  # never in a log
        return f"{type(self).__name__}(...)"

    def mac(self, message: bytes, length: int) -> bytes:
        """The first ``length`` bytes of the HMAC-SHA256 of ``message``."""
        return hmac.new(self.secret, message, hashlib.sha256).digest()[:length]


def signing_key(
    configured: str | None,
    *,
    variable: str,
    signs: str,
    purpose: bytes,
    jwt_secret: str | None,
    production: bool,
) -> SigningKey:
    """The key set in ``variable`` (at least 32 bytes), or in development one derived for ``purpose``.
    ``signs`` says what it signs, in the error that asks for it."""
    if configured:
        if len(configured.encode()) < MIN_KEY_BYTES:
            raise SettingsError(f"{variable} must be at least {MIN_KEY_BYTES} characters of random data")
        return SigningKey(configured.encode())
    if production or not jwt_secret:
        raise SettingsError(f"{variable} is required: the secret that signs {signs} (e.g. `openssl rand -base64 48`)")
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(jwt_secret.encode())
    return SigningKey(derived)


def b64(raw: bytes) -> str:
    """Unpadded base64url."""
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def unb64(text: str, *, canonical: bool = False) -> bytes:
    """The bytes of unpadded base64url; ``binascii.Error`` or ``ValueError`` when it is not that. With
    ``canonical``, a spelling other than the one ``b64`` writes is refused too, so a token has one spelling."""
    raw = base64.urlsafe_b64decode((text + "=" * (-len(text) % 4)).encode("ascii"))
    if canonical and b64(raw) != text:
        raise ValueError("non-canonical base64")
    return raw
