"""The rules of the contact record: how data is normalised (so duplicates are found by index lookups) and checked."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from typing import Any

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from crm_contacts.record.models import ACTIVE, LOST, WON
from crm_platform.errors import FieldError, phrase


def normalize_email(raw: str) -> tuple[str | None, FieldError | None]:
    """Lower-cased, syntax-checked address (no DNS lookup), or the reason it is not one."""
    try:
        checked = validate_email(raw.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        return None, FieldError("email", str(exc), "invalid_email")
    return checked.normalized.lower(), None


def normalize_phone(raw: str, default_region: str) -> tuple[str | None, FieldError | None]:
    """The number in E.164, reading numbers without a country code in ``default_region``."""
    try:
        number = phonenumbers.parse(raw, default_region)
    except phonenumbers.NumberParseException as exc:
        return None, FieldError("phone", phrase("not a phone number: {reason}", reason=str(exc)), "invalid_phone")
    if not phonenumbers.is_valid_number(number):
        return None, FieldError(
            "phone",
            phrase("{value} is not a valid number for region {region}", value=repr(raw), region=default_region),
            "invalid_phone",
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), None


def clean_name(raw: str) -> tuple[str | None, FieldError | None]:
    name = " ".join(raw.split())
    if not name:
        return None, FieldError("name", "must not be empty", "required")
    return name, None


def search_key(name: str) -> str:
    """Lower-cased, accents removed, spaces collapsed: ``Ána  Ruiz`` and ``ana ruiz`` find each other."""
    decomposed = unicodedata.normalize("NFKD", name)
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).casefold().split())


# --- the rest of the record -------------------------------------------------------------------------------

STATUS_TRANSITIONS: dict[str, frozenset[str]] = {
    ACTIVE: frozenset({WON, LOST}),
    WON: frozenset({ACTIVE}),  # reopen
    LOST: frozenset({ACTIVE}),  # reopen
}
INTEREST_OPERATORS = ("eq", "ne", "lt", "lte", "gt", "gte", "in", "contains", "between")
LOCATION_KEYS = ("address", "city", "region", "postal_code", "country")
MAX_STARS = 3
RECENT_COLORS = 10  # card colors a workspace remembers
MAX_TAG_LENGTH = 60
_COLOR = re.compile(r"#[0-9a-fA-F]{6}")
_LANGUAGE = re.compile(r"[a-zA-Z]{2,3}(-[a-zA-Z0-9]{2,8})?")


def status_change_error(current: str, wanted: str) -> str | None:
    """Why a contact in ``current`` status cannot go to ``wanted``: won and lost come from active, reopen goes back."""
    if current == wanted:
        return f"the contact is already {wanted}"
    if wanted not in STATUS_TRANSITIONS.get(current, frozenset()):
        return f"a {current} contact cannot become {wanted}; reopen it first"
    return None


def clean_tags(raw: list[str]) -> tuple[list[str], list[FieldError]]:
    """Trimmed, lower-cased, unique tags in the order given; empty or too long ones are errors."""
    tags: list[str] = []
    errors: list[FieldError] = []
    for index, tag in enumerate(raw):
        cleaned = " ".join(tag.split()).lower()
        if not cleaned:
            errors.append(FieldError(f"tags.{index}", "must not be empty", "required"))
        elif len(cleaned) > MAX_TAG_LENGTH:
            errors.append(
                FieldError(f"tags.{index}", phrase("at most {limit} characters", limit=MAX_TAG_LENGTH), "too_long")
            )
        elif cleaned not in tags:
            tags.append(cleaned)
    return tags, errors


def check_stars(stars: int) -> FieldError | None:
    if not 0 <= stars <= MAX_STARS:
        return FieldError("stars", phrase("from 0 to {limit}", limit=MAX_STARS), "out_of_range")
    return None


def clean_color(raw: str | None) -> tuple[str | None, FieldError | None]:
    """A card color as ``#rrggbb`` (lower-cased); None or "" removes it."""
    if not raw:
        return None, None
    if not _COLOR.fullmatch(raw.strip()):
        return None, FieldError("color", "a color is written #rrggbb", "invalid_color")
    return raw.strip().lower(), None


# Code points that make up emoji: pictographs, regional indicators (flags), keycap bases, and the joiners,
# variation selectors, skin tones and tags that combine them into one grapheme.
_PICTOGRAPHIC = (
    (0x00A9, 0x00A9),
    (0x00AE, 0x00AE),
    (0x203C, 0x203C),
    (0x2049, 0x2049),
    (0x2122, 0x2122),
    (0x2139, 0x2139),
    (0x2194, 0x21AA),
    (0x231A, 0x23FF),
    (0x24C2, 0x24C2),
    (0x25AA, 0x27BF),
    (0x2934, 0x2935),
    (0x2B05, 0x2B55),
    (0x3030, 0x3030),
    (0x303D, 0x303D),
    (0x3297, 0x3299),
    (0x1F000, 0x1F1E5),
    (0x1F200, 0x1F3FA),
    (0x1F400, 0x1FAFF),
)
_ZWJ, _VS16, _KEYCAP = 0x200D, 0xFE0F, 0x20E3
_SKIN_TONES = (0x1F3FB, 0x1F3FF)
_REGIONAL = (0x1F1E6, 0x1F1FF)
_TAGS = (0xE0020, 0xE007F)
MAX_EMOJI_LENGTH = 16  # the column's width; long ZWJ families still fit


def _within(code: int, bounds: tuple[int, int]) -> bool:
    return bounds[0] <= code <= bounds[1]


def _pictographic(code: int) -> bool:
    return any(low <= code <= high for low, high in _PICTOGRAPHIC)


def is_single_emoji(text: str) -> bool:
    """One emoji as a user sees it: a pictograph with its modifiers, a ZWJ sequence, a flag or a keycap."""
    codes = [ord(c) for c in text]
    if not codes or len(text) > MAX_EMOJI_LENGTH:
        return False
    if len(codes) == 2 and all(_within(c, _REGIONAL) for c in codes):  # a flag
        return True
    if len(codes) in (2, 3) and chr(codes[0]) in "0123456789#*" and codes[-1] == _KEYCAP:  # keycap 1️⃣
        return len(codes) == 2 or codes[1] == _VS16
    # pictograph (modifier | VS16 | tags)* (ZWJ pictograph (modifier | VS16)*)*
    expect_base = True
    for index, code in enumerate(codes):
        if expect_base:
            if not _pictographic(code) or _within(code, _REGIONAL):
                return False
            expect_base = False
        elif code == _ZWJ:
            expect_base = True
        elif code == _VS16 or _within(code, _SKIN_TONES):
            continue
        elif _within(code, _TAGS) and index > 0 and codes[0] == 0x1F3F4:  # subdivision flags (🏴 + tags)
            continue
        else:
            return False
    return not expect_base


def clean_emoji(raw: str | None) -> tuple[str | None, FieldError | None]:
    """A card emoji: one emoji grapheme; None or "" removes it."""
    if not raw:
        return None, None
    if not is_single_emoji(raw.strip()):
        return None, FieldError("emoji", "must be a single emoji", "invalid_emoji")
    return raw.strip(), None


def clean_language(raw: str | None) -> tuple[str | None, FieldError | None]:
    """A BCP 47 language tag such as ``es`` or ``pt-BR``; None or "" removes it."""
    if not raw:
        return None, None
    if not _LANGUAGE.fullmatch(raw.strip()):
        return None, FieldError("language", "a language tag such as es or pt-BR", "invalid_language")
    language, _, region = raw.strip().partition("-")
    return (f"{language.lower()}-{region.upper()}" if region else language.lower()), None


def clean_location(raw: dict[str, str | None]) -> dict[str, str]:
    """The known location keys with their values trimmed; empty values are left out."""
    return {key: " ".join(str(raw[key]).split()) for key in LOCATION_KEYS if raw.get(key) and str(raw[key]).strip()}


def clean_messengers(raw: dict[str, str]) -> tuple[dict[str, str], list[FieldError]]:
    """Messenger handles by lower-cased messenger name; an empty name is an error, an empty handle drops it."""
    messengers: dict[str, str] = {}
    errors: list[FieldError] = []
    for name, handle in raw.items():
        key = name.strip().lower()
        if not key:
            errors.append(FieldError("messengers", "a messenger needs a name", "required"))
        elif handle and handle.strip():
            messengers[key] = handle.strip()
    return messengers, errors


def clean_interests(raw: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[FieldError]]:
    """Interests as ``{criteria: [{field, operator, value}], text}``; operators come from a fixed list."""
    interests: list[dict[str, Any]] = []
    errors: list[FieldError] = []
    for index, interest in enumerate(raw):
        criteria = []
        for position, criterion in enumerate(interest.get("criteria") or []):
            where = f"interests.{index}.criteria.{position}"
            field, operator, value = criterion.get("field"), criterion.get("operator"), criterion.get("value")
            if not isinstance(field, str) or not field.strip():
                errors.append(FieldError(f"{where}.field", "must not be empty", "required"))
                continue
            if operator not in INTEREST_OPERATORS:
                errors.append(
                    FieldError(f"{where}.operator", f"one of {', '.join(INTEREST_OPERATORS)}", "invalid_operator")
                )
                continue
            if operator == "between" and not (isinstance(value, list) and len(value) == 2):
                errors.append(FieldError(f"{where}.value", "between takes [low, high]", "invalid"))
                continue
            if operator == "in" and not isinstance(value, list):
                errors.append(FieldError(f"{where}.value", "in takes a list", "invalid"))
                continue
            criteria.append({"field": field.strip(), "operator": operator, "value": value})
        text = " ".join(str(interest.get("text") or "").split())
        if not criteria and not text:
            errors.append(FieldError(f"interests.{index}", "an interest needs criteria or text", "required"))
        interests.append({"criteria": criteria, "text": text})
    return interests, errors


def name_tokens(name_key: str) -> tuple[str, str] | None:
    """The first and last words of a search key, for "similar name" duplicates; None for one-word names."""
    words = name_key.split()
    return (words[0], words[-1]) if len(words) >= 2 else None


def remember_color(recent: Sequence[str], color: str) -> list[str]:
    """The workspace's recent card colors after using ``color``: most recent first, each once, at most ten."""
    return [color, *(c for c in recent if c != color)][:RECENT_COLORS]


def member_column(actor_id: str | None) -> str | None:
    """An actor id for the 36-character member columns (created_by, deleted_by, ...); longer ids are not kept."""
    return actor_id if actor_id is not None and len(actor_id) <= 36 else None


def several_primaries_error(raw: list[Any], field: str) -> FieldError | None:
    """A list of emails or phones may mark at most one entry primary: two would leave one silently kept."""
    marked = sum(1 for item in raw if isinstance(item, dict) and item.get("primary") is True)
    if marked > 1:
        return FieldError(field, f"{marked} entries are marked primary; mark at most one", "several_primaries")
    return None
