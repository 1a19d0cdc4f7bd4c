"""Pure rules of contact files: executables are recognised by their first bytes, names made safe to send back."""

from __future__ import annotations

import mimetypes
import re
import unicodedata

# Executables are recognised by the platform's attachments rules: one list for every service that takes files.
from crm_platform.attachments.rules import EXECUTABLE_SIGNATURES as EXECUTABLE_SIGNATURES
from crm_platform.attachments.rules import HEAD_BYTES as HEAD_BYTES
from crm_platform.attachments.rules import executable_kind as executable_kind

MAX_FILENAME_CHARS = 255

_CONTENT_TYPE = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9!#$&^_.+-]{0,63}/[a-zA-Z0-9][a-zA-Z0-9!#$&^_.+-]{0,63}")


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
