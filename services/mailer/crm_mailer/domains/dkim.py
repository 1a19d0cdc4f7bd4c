"""DKIM keys: making a key pair, keeping its private half encrypted at rest, and signing a message with it."""

from __future__ import annotations

import base64
import functools
import hashlib
import re
import secrets
import time
from dataclasses import dataclass
from datetime import datetime

import dkim as dkimpy
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from crm_platform.settings import Settings, SettingsError

KEY_BITS = 2048  # RFC 8301: at least 1024, 2048 recommended; every receiver verifies RSA (few do Ed25519 yet)
ENCRYPTION_KEYS_VARIABLE = "MAILER_DKIM_ENCRYPTION_KEYS"
# Signed whether present or not (an absent one signed stays absent), each once more than it appears, so that
# nobody on the way can add a second From or Subject without breaking the signature.
SIGNED_HEADERS = (
    "From",
    "Reply-To",
    "Sender",
    "To",
    "Cc",
    "Subject",
    "Date",
    "Message-ID",
    "In-Reply-To",
    "References",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
    "MIME-Version",
    "Content-Type",
    "Content-Transfer-Encoding",
)


@dataclass(frozen=True)
class KeyPair:
    private_pem: bytes  # PKCS#1 PEM, the form dkimpy signs with
    public_key: str  # base64 DER SubjectPublicKeyInfo: the p= of the DNS record


@dataclass(frozen=True)
class DomainKey:
    """What signs a message: the verified domain (d=), the key's selector (s=) and its private key."""

    domain: str
    selector: str
    private_pem: bytes


def new_key_pair() -> KeyPair:
    key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    )
    public_der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return KeyPair(private_pem=private_pem, public_key=base64.b64encode(public_der).decode("ascii"))


def new_selector(now: datetime) -> str:
    """``crm20261201a3f9``: when the key was made, and a few random characters so that two keys (a rotation the
    same day, the same domain in two workspaces) never share a DNS name."""
    return f"crm{now:%Y%m%d}{secrets.token_hex(2)}"


class KeyCipher:
    """Encrypts DKIM private keys with the first of the configured Fernet keys; decrypts with any of them, so
    the encryption key itself can be rotated (add a new key first, re-encrypt, drop the old one)."""

    def __init__(self, keys: list[bytes]) -> None:
        self._fernet = MultiFernet([Fernet(key) for key in keys])

    def encrypt(self, private_pem: bytes) -> str:
        return self._fernet.encrypt(private_pem).decode("ascii")

    def decrypt(self, token: str) -> bytes:
        try:
            return self._fernet.decrypt(token.encode("ascii"))
        except InvalidToken:
            raise SettingsError(
                f"a DKIM private key cannot be decrypted with {ENCRYPTION_KEYS_VARIABLE}: was the key it was "
                "encrypted with removed?"
            ) from None


def parse_encryption_keys(raw: str) -> list[bytes]:
    """``MAILER_DKIM_ENCRYPTION_KEYS``: Fernet keys separated by commas, the first one encrypting."""
    keys = [part.strip().encode("ascii") for part in raw.split(",") if part.strip()]
    if not keys:
        raise SettingsError(f"{ENCRYPTION_KEYS_VARIABLE} holds no key")
    for key in keys:
        try:
            Fernet(key)
        except ValueError:
            raise SettingsError(
                f"{ENCRYPTION_KEYS_VARIABLE}: each key must be a Fernet key (32 bytes, url-safe base64); make one "
                "with `crm dkim-encryption-key`"
            ) from None
    return keys


def cipher_for(configured: str | None, platform: Settings) -> KeyCipher:
    """The cipher of the DKIM private keys: the configured keys, required in production. Outside production,
    without them, a key derived from the development JWT secret (which ``crm run`` keeps in ``var/`` and
    ``crm up`` fixes), so the keys stay readable across restarts with nothing more to set up."""
    if configured:
        return KeyCipher(parse_encryption_keys(configured))
    if platform.is_production or not platform.jwt_secret:
        raise SettingsError(
            f"{ENCRYPTION_KEYS_VARIABLE} is required: the Fernet key that encrypts the sender domains' DKIM "
            "private keys (make one with `crm dkim-encryption-key`)"
        )
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"crm mailer dkim private keys").derive(
        platform.jwt_secret.encode()
    )
    return KeyCipher([base64.urlsafe_b64encode(derived)])


def sign(message: bytes, key: DomainKey, *, now: float | None = None) -> bytes:
    """The message with a DKIM-Signature (rsa-sha256, relaxed/relaxed) of ``key``'s domain and selector on top,
    covering From, Subject, Date, Message-ID, List-Unsubscribe, List-Unsubscribe-Post and the other headers
    of ``SIGNED_HEADERS``, each once more than it appears.

    The mail the delivery loop writes (CRLF line ends throughout) is signed by ``_sign_crlf``: RFC 6376's relaxed
    canonicalization and the header selection done once over a header list split once, the RSA signature by
    OpenSSL with the key loaded once, about 0.1 ms besides the RSA, where dkimpy's generic path parses the message
    and key again and costs some 0.7 ms. Anything else (bare LF, no header/body separator) is signed by dkimpy.
    tests/unit/mailer/domains/test_dkim_signing.py holds both to dkimpy's verifier."""
    split = _split_crlf(message)
    if split is None:
        return _dkimpy_sign(message, key)
    return _sign_crlf(message, split[0], split[1], key, int(time.time() if now is None else now)) + message


def _dkimpy_sign(message: bytes, key: DomainKey) -> bytes:
    present = [line.split(b":", 1)[0].strip().lower() for line in _header_lines(message)]
    include = [name.encode() for name in SIGNED_HEADERS for _ in range(present.count(name.lower().encode()) + 1)]
    signature = dkimpy.sign(
        message,
        key.selector.encode(),
        key.domain.encode(),
        key.private_pem,
        canonicalize=(b"relaxed", b"relaxed"),
        include_headers=include,
    )
    return signature + message


_WSP = re.compile(rb"[ \t]+")
_TRAILING_WSP = re.compile(rb"[ \t]+\r\n")
_FIELD_NAME = re.compile(rb"[\x21-\x39\x3b-\x7e]+")


def _split_crlf(message: bytes) -> tuple[list[tuple[bytes, bytes]], bytes] | None:
    """(header fields as (name, raw value with its folds), body) of a message with CRLF line ends only; None
    for anything else, which dkimpy signs."""
    end = message.find(b"\r\n\r\n")
    crlf = message.count(b"\r\n")  # every CR and every LF in a CRLF pair: counted, without copying the message
    if end < 0 or message.count(b"\n") != crlf or message.count(b"\r") != crlf:
        return None
    fields: list[tuple[bytes, bytes]] = []
    for line in message[:end].split(b"\r\n"):
        if line[:1] in (b" ", b"\t") and fields:
            name, value = fields[-1]
            fields[-1] = (name, value + b"\r\n" + line)
            continue
        name, colon, value = line.partition(b":")
        if not colon or _FIELD_NAME.fullmatch(name.rstrip(b" \t")) is None:
            return None
        fields.append((name.rstrip(b" \t"), value))
    return fields, message[end + 4 :]


def _relaxed_header(name: bytes, value: bytes) -> bytes:
    """RFC 6376 3.4.2: the name in lower case, the value unfolded, runs of WSP one space, none at its ends."""
    return name.lower() + b":" + _WSP.sub(b" ", value.replace(b"\r\n", b"")).strip(b" \t")


def _relaxed_body(body: bytes) -> bytes:
    """RFC 6376 3.4.4 in dkimpy's order (what verifiers compute): no WSP before a line end, WSP runs one space, no
    empty lines at the end, a CRLF added to a last line without one; an empty body is empty."""
    body = _WSP.sub(b" ", _TRAILING_WSP.sub(b"\r\n", body))
    body = body.rstrip(b"\r\n") + b"\r\n" if body.endswith(b"\r\n") else body + b"\r\n"
    return b"" if body == b"\r\n" else body


_SIGNED_LOWER = {name.lower().encode("ascii"): name.encode("ascii") for name in SIGNED_HEADERS}


def _sign_crlf(message: bytes, fields: list[tuple[bytes, bytes]], body: bytes, key: DomainKey, when: int) -> bytes:
    present: dict[bytes, list[bytes]] = {}  # the signed headers' canonical forms by lower-case name, top first
    for name, value in fields:
        lower = name.lower()
        if lower in _SIGNED_LOWER:
            present.setdefault(lower, []).append(_relaxed_header(name, value))
    counts: list[int] = []
    hashed = hashlib.sha256()
    for lower in _SIGNED_LOWER:
        instances = present.get(lower, ())
        for text in reversed(instances):  # the bottom instance first (RFC 6376 5.4.2), then one more, absent
            hashed.update(text + b"\r\n")
        counts.append(len(instances) + 1)
    body_hash = base64.b64encode(hashlib.sha256(_relaxed_body(body)).digest())
    domain = key.domain.encode("ascii")
    tags = b"".join(
        (
            b"v=1; a=rsa-sha256; c=relaxed/relaxed;\r\n d=",
            domain,
            b"; i=@",
            domain,
            b";\r\n q=dns/txt; s=",
            key.selector.encode("ascii"),
            b"; t=",
            str(when).encode("ascii"),
            b";\r\n h=",
            _fold_names(tuple(counts)),
            b";\r\n bh=",
            body_hash,
            b";\r\n b=",
        )
    )
    hashed.update(_relaxed_header(b"DKIM-Signature", b" " + tags))
    signature = _private_key(key.private_pem).sign(hashed.digest(), _PKCS1, Prehashed(hashes.SHA256()))
    encoded = base64.b64encode(signature)
    folded = b"\r\n ".join(encoded[i : i + 72] for i in range(0, len(encoded), 72))
    return b"DKIM-Signature: " + tags + folded + b"\r\n"


@functools.lru_cache(maxsize=64)
def _fold_names(counts: tuple[int, ...]) -> bytes:
    """The h= tag's names folded: each of ``SIGNED_HEADERS`` as many times as ``counts`` says, in order (the same
    few shapes of mail come back, so the folding is kept)."""
    names = [name for name, count in zip(_SIGNED_LOWER.values(), counts, strict=True) for _ in range(count)]
    lines, line = [], b""
    for name in names:
        if line and len(line) + len(name) + 3 > 70:
            lines.append(line + b":")
            line = name
        else:
            line = line + b":" + name if line else name
    return b"\r\n   ".join([*lines, line])


_PKCS1 = padding.PKCS1v15()


@functools.lru_cache(maxsize=256)
def _private_key(private_pem: bytes) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(private_pem, password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("a DKIM key here is RSA")
    return key


def _header_lines(message: bytes) -> list[bytes]:
    """The header fields' first lines (continuation lines left out), up to the blank line before the body."""
    head = message.replace(b"\r\n", b"\n").split(b"\n\n", 1)[0]
    return [line for line in head.split(b"\n") if line and not line[:1].isspace() and b":" in line]


# dkimpy computes RSA in pure Python (about 11 ms a signature with a 2048-bit key); the signature is the same
# deterministic RSASSA-PKCS1-v1_5 value when OpenSSL computes it (about 1 ms), so dkimpy's primitive is replaced
# by one through `cryptography`, the keys built once per modulus.
_OPENSSL_KEYS: dict[int, rsa.RSAPrivateKey] = {}
_PREHASHED = {"sha256": hashes.SHA256(), "sha1": hashes.SHA1()}


def _openssl_sign(hash_object, private_key):  # type: ignore[no-untyped-def]
    from cryptography.hazmat.primitives.asymmetric import padding
    from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

    key = _OPENSSL_KEYS.get(private_key["modulus"])
    if key is None:
        numbers = rsa.RSAPrivateNumbers(
            p=private_key["prime1"],
            q=private_key["prime2"],
            d=private_key["privateExponent"],
            dmp1=private_key["exponent1"],
            dmq1=private_key["exponent2"],
            iqmp=private_key["coefficient"],
            public_numbers=rsa.RSAPublicNumbers(e=private_key["publicExponent"], n=private_key["modulus"]),
        )
        key = numbers.private_key()
        if len(_OPENSSL_KEYS) > 1000:
            _OPENSSL_KEYS.clear()
        _OPENSSL_KEYS[private_key["modulus"]] = key
    return key.sign(hash_object.digest(), padding.PKCS1v15(), Prehashed(_PREHASHED[hash_object.name]))


dkimpy.RSASSA_PKCS1_v1_5_sign = _openssl_sign

# dkimpy parses the PEM (base64 and ASN.1 in pure Python, about 0.4 ms) on every signature: the parsed key is kept
# per PEM, so a domain's key is read once and each message is signed with the pre-loaded key.
_parse_pem_private_key = dkimpy.parse_pem_private_key


@functools.lru_cache(maxsize=256)
def _parsed_private_key(private_pem: bytes) -> dict[str, int]:
    return _parse_pem_private_key(private_pem)  # type: ignore[no-any-return]


dkimpy.parse_pem_private_key = _parsed_private_key
