"""What a stored file may be called and said to be, and the headers it is downloaded with: pure functions."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from urllib.parse import quote

from crm_platform.errors import DomainError, FieldError, InvalidInput, phrase

CHUNK_BYTES = 64 * 1024  # the pieces files are stored, streamed and read in
MAX_FILENAME_CHARS = 200
DEFAULT_FILENAME = "attachment"
OCTET_STREAM = "application/octet-stream"
# Types a browser (or a mail client) would run or render as a page: never served as themselves.
ACTIVE_TYPES = frozenset(
    {
        "text/html",
        "application/xhtml+xml",
        "image/svg+xml",
        "text/xml",
        "application/xml",
        "text/javascript",
        "application/javascript",
        "application/x-javascript",
        "application/ecmascript",
        "text/ecmascript",
        "application/x-shockwave-flash",
        "text/vnd.wap.wml",
        "application/vnd.wap.xhtml+xml",
        "multipart/x-mixed-replace",
    }
)
# The one CSP a download is answered with: nothing in it may run, load or frame.
DOWNLOAD_CSP = "default-src 'none'; sandbox; frame-ancestors 'none'"

_TOKEN = r"[a-z0-9][a-z0-9!#$&^_.+-]{0,126}"
_CONTENT_TYPE = re.compile(rf"{_TOKEN}/{_TOKEN}")
_UNSAFE_CHARS = re.compile(r'[\x00-\x1f\x7f-\x9f<>:"/\\|?*\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]')
_RESERVED = re.compile(r"(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?", re.IGNORECASE)
_SHA256 = re.compile(r"[0-9a-f]{64}")
# Leading bytes of common formats, to check what a sender declared.
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"%PDF-", "application/pdf"),
    (b"PK\x03\x04", "application/zip"),
    (b"\x1f\x8b", "application/gzip"),
)
_MARKUP = (
    (b"<!doctype html", "text/html"),
    (b"<html", "text/html"),
    (b"<head", "text/html"),
    (b"<body", "text/html"),
    (b"<script", "text/html"),
    (b"<iframe", "text/html"),
    (b"<svg", "image/svg+xml"),
    (b"<?xml", "application/xml"),
)


# Signatures of programs an operating system runs directly. Only formats whose first bytes are unambiguous are
# listed; anything else (documents, images, archives) is accepted whatever its name says.
EXECUTABLE_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x7fELF", "an ELF executable (Linux, BSD)"),
    (b"MZ", "a Windows or DOS executable (MZ/PE)"),
    (b"\xfe\xed\xfa\xce", "a Mach-O executable (macOS, 32-bit)"),
    (b"\xce\xfa\xed\xfe", "a Mach-O executable (macOS, 32-bit)"),
    (b"\xfe\xed\xfa\xcf", "a Mach-O executable (macOS, 64-bit)"),
    (b"\xcf\xfa\xed\xfe", "a Mach-O executable (macOS, 64-bit)"),
    (b"\xca\xfe\xba\xbe", "a Mach-O universal binary or a Java class"),
    (b"\xca\xfe\xba\xbf", "a Mach-O universal binary (64-bit)"),
    (b"#!", "a script with an interpreter line (#!)"),
    (
        b"\x4c\x00\x00\x00\x01\x14\x02\x00\x00\x00\x00\x00\xc0\x00\x00\x00\x00\x00\x00\x46",
        "a Windows shortcut (.lnk)",
    ),
)
# How many leading bytes ``executable_kind`` needs to decide (the longest signature).
HEAD_BYTES = max(len(signature) for signature, _ in EXECUTABLE_SIGNATURES)


def executable_kind(head: bytes) -> str | None:
    """What kind of executable a file starting with ``head`` is, or None when it is not one."""
    for signature, kind in EXECUTABLE_SIGNATURES:
        if head.startswith(signature):
            return kind
    return None


def refuse_executable(head: bytes) -> None:
    """Raise InvalidInput (field ``file``, code ``executable``) when ``head`` starts an executable, whatever the
    file's name or declared type say."""
    kind = executable_kind(head)
    if kind is not None:
        raise InvalidInput(
            phrase("executable files are not accepted"),
            errors=[
                FieldError("file", phrase("the content is {kind}; executables are refused", kind=kind), "executable")
            ],
        )


class AttachmentTooLarge(DomainError):
    """A file over its limit: refused before its bytes are read when its length is known, else when counted."""

    code = "too-large"
    http_status = 413
    title = "The file is too large"


class AttachmentUnavailable(DomainError):
    """A referenced file could not be fetched from its owner (down, unknown, or not what the reference says)."""

    code = "attachment-unavailable"
    http_status = 502
    title = "The file could not be fetched"


@dataclass(frozen=True)
class Limits:
    """How many bytes one file may have, and (for a message carrying several) all of them together."""

    max_bytes: int
    max_total_bytes: int | None = None

    def check_declared(self, size: int | None, *, what: str = "the file") -> None:
        """Refuse, before reading, a file whose announced length is over the limit."""
        if size is not None and size > self.max_bytes:
            raise too_large(what, self.max_bytes)

    def check_total(self, sizes: list[int]) -> None:
        if self.max_total_bytes is not None and sum(sizes) > self.max_total_bytes:
            raise AttachmentTooLarge(
                f"the attachments have {sum(sizes)} bytes together, over the limit of {self.max_total_bytes}"
            )


def too_large(what: str, limit: int) -> AttachmentTooLarge:
    return AttachmentTooLarge(f"{what} is larger than the limit of {limit} bytes", extra={"limit_bytes": limit})


def sanitize_filename(name: str | None, *, default: str = DEFAULT_FILENAME) -> str:
    """A name safe on every disk and in every header: no folders (only the last part of a path), no control,
    bidi or reserved characters, no leading dots, not a Windows device name, at most 200 characters with the
    extension kept; ``default`` when nothing is left."""
    text = unicodedata.normalize("NFC", name or "")
    text = re.split(r"[/\\]", text)[-1]
    text = _UNSAFE_CHARS.sub("_", re.sub(r"[\t\n\v\f\r\x85\u2028\u2029]", " ", text))
    text = " ".join(text.split())  # tabs, newlines and runs of spaces: one space
    text = text.strip(" .")
    if not text or set(text) <= {"_"}:
        return default
    if _RESERVED.fullmatch(text):
        text = f"_{text}"
    if len(text) > MAX_FILENAME_CHARS:
        stem, dot, extension = text.rpartition(".")
        if dot and 0 < len(extension) <= 16:
            text = f"{stem[: MAX_FILENAME_CHARS - len(extension) - 1]}.{extension}"
        else:
            text = text[:MAX_FILENAME_CHARS]
    return text


def normalise_content_type(declared: str | None) -> str:
    """``type/subtype`` in lower case, parameters dropped; anything malformed is ``application/octet-stream``."""
    value = (declared or "").split(";", 1)[0].strip().lower()
    return value if _CONTENT_TYPE.fullmatch(value) else OCTET_STREAM


def sniff(head: bytes) -> str | None:
    """What the first bytes of a file say it is, for the formats we recognise (markup included), or None."""
    for magic, found in _MAGIC:
        if head.startswith(magic):
            return found
    text = head[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    for start, found in _MARKUP:
        if text.startswith(start):
            return found
    return None


def checked_content_type(declared: str | None, head: bytes) -> str:
    """The type a file is stored as: the declared one unless its bytes say otherwise. Bytes that are markup or
    script under a harmless name are kept as ``application/octet-stream``; a recognised format declared
    generically (or as another format) takes the recognised type."""
    stated = normalise_content_type(declared)
    found = sniff(head)
    if found is None or found == stated:
        return stated
    if found in ACTIVE_TYPES:
        return stated if stated in ACTIVE_TYPES else OCTET_STREAM
    return found


def download_type(content_type: str) -> str:
    """The Content-Type a download is answered with: anything a browser could render as a page or run is
    ``application/octet-stream``."""
    stated = normalise_content_type(content_type)
    return OCTET_STREAM if stated in ACTIVE_TYPES or stated.startswith("multipart/") else stated


def content_disposition(filename: str) -> str:
    """``attachment`` with the name twice (RFC 6266): an ASCII fallback in ``filename=`` and the exact name,
    UTF-8 and percent-encoded (RFC 8187), in ``filename*=``."""
    name = sanitize_filename(filename)
    fallback = "".join(c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c))
    fallback = re.sub(r"[^A-Za-z0-9!#$&+.^_`|~ ()\[\]{},;=@-]", "_", fallback).strip() or DEFAULT_FILENAME
    value = f'attachment; filename="{fallback}"'
    if fallback != name:
        value += f"; filename*=UTF-8''{quote(name, safe='')}"
    return value


def download_headers(filename: str, content_type: str, size: int | None = None) -> dict[str, str]:
    """Every header a file download carries: it is saved, never rendered, sniffed, framed or cached by others."""
    headers = {
        "Content-Type": download_type(content_type),
        "Content-Disposition": content_disposition(filename),
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": DOWNLOAD_CSP,
        "Cross-Origin-Resource-Policy": "same-origin",
        "Cache-Control": "private, no-store",
        "Referrer-Policy": "no-referrer",
    }
    if size is not None:
        headers["Content-Length"] = str(size)
    return headers


def is_sha256(value: str) -> bool:
    return bool(_SHA256.fullmatch(value))
