"""Pure rules of the timeline: how comments mention members, excerpts, and the kind filter.

A mention is written ``@[Name](member-id)`` (crm_platform.mentions, the same in tickets' comments): the name
in square brackets is what readers see, the member id in parentheses is who is notified.
"""

from __future__ import annotations

import re

from crm_platform.errors import FieldError
from crm_platform.mentions import plain_text

_KIND = re.compile(r"[a-z][a-z0-9_]{0,39}")
EXCERPT_CHARS = 140
MAX_COMMENT_CHARS = 20_000
MAX_KINDS = 20


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """The start of ``text`` on one line, cut at a word boundary with an ellipsis when longer than ``limit``."""
    flat = " ".join(plain_text(text).split())
    if len(flat) <= limit:
        return flat
    cut = flat[: limit - 1]
    if " " in cut[limit // 2 :]:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,.;:") + "…"


def parse_kinds(raw: str | None) -> tuple[list[str], FieldError | None]:
    """The ``kind`` filter: a comma-separated list of entry kinds (``note_added,comment``); empty means all."""
    if raw is None or not raw.strip():
        return [], None
    kinds = list(dict.fromkeys(part.strip() for part in raw.split(",") if part.strip()))
    bad = [kind for kind in kinds if not _KIND.fullmatch(kind)]
    if bad:
        return [], FieldError("kind", f"not an entry kind: {', '.join(bad)}", "invalid_kind")
    if len(kinds) > MAX_KINDS:
        return [], FieldError("kind", f"at most {MAX_KINDS} kinds", "too_many")
    return kinds, None
