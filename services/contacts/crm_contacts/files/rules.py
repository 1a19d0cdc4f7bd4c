"""Pure rules of contact files: executables are recognised by their first bytes, names made safe to send back."""

from __future__ import annotations

import mimetypes
import re
import unicodedata

MAX_FILENAME_CHARS = 255

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

_CONTENT_TYPE = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9!#$&^_.+-]{0,63}/[a-zA-Z0-9][a-zA-Z0-9!#$&^_.+-]{0,63}")


def executable_kind(head: bytes) -> str | None:
    """What kind of executable a file starting with ``head`` is, or None when it is not one."""
    for signature, kind in EXECUTABLE_SIGNATURES:
        if head.startswith(signature):
            return kind
    return None


def clean_filename(raw: str | None) -> str:
    """A name safe to store and to send in Content-Disposition: no folders, control characters or quotes."""
    name = unicodedata.normalize("NFC", raw or "")
    name = re.split(r"[/\\]", name)[-1]
    name = "".join(" " if unicodedata.category(c).startswith("C") else c for c in name)
    name = name.replace('"', "'")
    name = " ".join(name.split()).lstrip(".").strip()
    if not name:
        return "file"
    if len(name) > MAX_FILENAME_CHARS:
        stem, dot, extension = name.rpartition(".")
        if dot and 0 < len(extension) <= 16:
            name = stem[: MAX_FILENAME_CHARS - len(extension) - 1].rstrip() + "." + extension
        else:
            name = name[:MAX_FILENAME_CHARS]
    return name


def content_type_for(declared: str | None, filename: str) -> str:
    """The type the client declared when it is well-formed, else a guess from the name, else octet-stream."""
    declared = (declared or "").split(";")[0].strip().lower()
    if declared and _CONTENT_TYPE.fullmatch(declared) and declared != "application/octet-stream":
        return declared
    guessed, _ = mimetypes.guess_type(filename, strict=False)
    return guessed or "application/octet-stream"


def may_delete(*, caller_id: str, caller_is_admin: bool, uploaded_by: str) -> bool:
    """The member who uploaded a file, or an admin, may delete it."""
    return caller_is_admin or caller_id == uploaded_by
