"""Pure rules of the funnel: type keys from names, and the stage order a reorder must respect."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from crm_platform.errors import FieldError, phrase

KEY_MAX = 60
_NOT_SLUG = re.compile(r"[^a-z0-9]+")


def slugify(text: str, *, separator: str = "-", max_length: int = KEY_MAX) -> str:
    """A lower-case ASCII slug (``"Clientes VIP ñ"`` -> ``"clientes-vip-n"``); empty when nothing is left."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    return _NOT_SLUG.sub(separator, ascii_text).strip(separator)[:max_length].strip(separator)


def clean_name(name: str, *, field: str = "name", max_length: int = 100) -> tuple[str, FieldError | None]:
    """A trimmed name, or the error saying why it cannot be one."""
    cleaned = " ".join(name.split())
    if not cleaned:
        return cleaned, FieldError(field, "must not be empty", "required")
    if len(cleaned) > max_length:
        return cleaned, FieldError(field, phrase("must be at most {limit} characters", limit=max_length), "too_long")
    return cleaned, None


def first_duplicate(names: Sequence[str]) -> str | None:
    """The first name that repeats (case-insensitive), if any."""
    seen: set[str] = set()
    for name in names:
        folded = name.casefold()
        if folded in seen:
            return name
        seen.add(folded)
    return None


def check_new_order(current: Sequence[str], proposed: Sequence[str]) -> FieldError | None:
    """A reorder must list each of the type's stages exactly once, and nothing else."""
    if len(set(proposed)) != len(proposed):
        return FieldError("stage_ids", "lists a stage more than once", "duplicate")
    unknown = [stage_id for stage_id in proposed if stage_id not in set(current)]
    if unknown:
        return FieldError(
            "stage_ids", phrase("not stages of this type: {ids}", ids=", ".join(unknown)), "unknown_stage"
        )
    missing = [stage_id for stage_id in current if stage_id not in set(proposed)]
    if missing:
        return FieldError(
            "stage_ids", phrase("missing stages of this type: {ids}", ids=", ".join(missing)), "missing_stage"
        )
    return None


def insert_position(count: int, position: int | None) -> int:
    """Where a new stage goes among ``count`` stages: the given 0-based position clamped, or the end."""
    if position is None:
        return count
    return max(0, min(position, count))
