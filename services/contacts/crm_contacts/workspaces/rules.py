"""Pure rules of a workspace's settings: which phone region, time zone and languages are acceptable."""

from __future__ import annotations

import functools
import zoneinfo
from collections.abc import Callable
from typing import Any

import phonenumbers

from crm_platform.errors import FieldError, phrase

# ISO 639-1 (two-letter) language codes
ISO_639_1 = frozenset(
    """
    aa ab ae af ak am an ar as av ay az ba be bg bi bm bn bo br bs ca ce ch co cr cs cu cv cy da de dv dz ee el
    en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho hr ht hu hy hz ia id ie ig ii ik io is it
    iu ja jv ka kg ki kj kk kl km kn ko kr ks ku kv kw ky la lb lg li ln lo lt lu lv mg mh mi mk ml mn mr ms mt
    my na nb nd ne ng nl nn no nr nv ny oc oj om or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg si sk sl
    sm sn so sq sr ss st su sv sw ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve vi vo wa wo xh yi yo
    za zh zu
    """.split()
)
MAX_LANGUAGES = 20
SETTINGS = ("name", "allow_duplicates", "default_region", "time_zone", "languages", "agents_see_all")


@functools.cache
def _time_zones() -> frozenset[str]:
    # "localtime" and "posixrules" are files of the host's zoneinfo folder, not zone names
    return frozenset(zoneinfo.available_timezones()) - {"localtime", "posixrules"}


def check_region(value: str, *, field: str = "default_region") -> tuple[str, FieldError | None]:
    """An ISO 3166 alpha-2 region phone numbers can be read in (``es`` -> ``ES``)."""
    region = value.strip().upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        return region, FieldError(
            field, phrase("{value} is not an ISO 3166 region with phone numbers", value=repr(value)), "invalid_region"
        )
    return region, None


def check_time_zone(value: str, *, field: str = "time_zone") -> tuple[str, FieldError | None]:
    """An IANA time zone name as written in the tz database (``Europe/Madrid``, ``UTC``)."""
    name = value.strip()
    if name not in _time_zones():
        return name, FieldError(
            field,
            phrase("{value} is not an IANA time zone such as Europe/Madrid", value=repr(value)),
            "invalid_time_zone",
        )
    return name, None


def check_languages(values: list[str], *, field: str = "languages") -> tuple[list[str], FieldError | None]:
    """ISO 639-1 codes, lower-cased, without repeats, in the given order; at least one."""
    codes = list(dict.fromkeys(value.strip().lower() for value in values))
    if not codes:
        return codes, FieldError(field, "list at least one language", "required")
    if len(codes) > MAX_LANGUAGES:
        return codes, FieldError(field, phrase("at most {limit} languages", limit=MAX_LANGUAGES), "too_long")
    unknown = [code for code in codes if code not in ISO_639_1]
    if unknown:
        return codes, FieldError(
            field, phrase("not ISO 639-1 codes: {codes}", codes=", ".join(unknown)), "invalid_language"
        )
    return codes, None


def check_name(value: str, *, field: str = "name") -> tuple[str, FieldError | None]:
    name = " ".join(value.split())
    if not name:
        return name, FieldError(field, "must not be empty", "required")
    if len(name) > 200:
        return name, FieldError(field, "must be at most 200 characters", "too_long")
    return name, None


def clean_settings(changes: dict[str, Any]) -> tuple[dict[str, Any], list[FieldError]]:
    """The settings changes in their stored form, and every field error found (all of them, not the first)."""
    cleaned: dict[str, Any] = {}
    errors: list[FieldError] = []
    checks: dict[str, Callable[[Any], tuple[Any, FieldError | None]]] = {
        "name": check_name,
        "default_region": check_region,
        "time_zone": check_time_zone,
        "languages": check_languages,
    }
    for key, value in changes.items():
        if key not in SETTINGS:
            errors.append(FieldError(key, "not a setting", "unknown_field"))
        elif value is None:
            errors.append(FieldError(key, "must not be null", "required"))
        elif key in checks:
            cleaned[key], error = checks[key](value)
            if error is not None:
                errors.append(error)
        else:
            cleaned[key] = bool(value)
    return cleaned, errors
