"""What a contact list request means: its filters, sort, cursor and fields, parsed and checked without a database.

The list endpoint, saved filters, bulk actions and the CSV export all read filters through ``parse_filter``,
so one spelling means the same contacts everywhere and a bad value is the same 422 everywhere.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from crm_contacts.record.models import STATUSES
from crm_contacts.record.rules import normalize_email, normalize_phone, search_key
from crm_platform import paging
from crm_platform.errors import FieldError, InvalidInput

LOCATION_KEYS = ("city", "region", "country", "postal_code")
# Every sort breaks ties by id, so a (value, id) cursor names one position in a total order.
SORTS = ("-created_at", "created_at", "name", "-name", "stars", "-stars", "updated_at", "-updated_at")
DEFAULT_SORT = "-created_at"
# Parameters that shape the answer rather than choose contacts.
CONTROL_PARAMS = frozenset({"sort", "fields", "limit", "cursor", "filter"})
SIMPLE_FILTERS = frozenset(
    {
        "created_from",
        "created_to",
        "created_within_days",
        "owner",
        "source",
        "type",
        "stage",
        "status",
        "stars",
        "stars_min",
        "tag",
        "name",
        "email",
        "phone",
        "messenger",
        "blocked",
        "q",
    }
)
CUSTOM_FIELD_OPERATORS = ("eq", "gte", "lte", "gt", "lt")
ORDERED_KINDS = ("number", "date")  # custom field kinds that take gte/lte/gt/lt
MAX_LIMIT = paging.MAX_LIMIT


@dataclass(frozen=True)
class CustomCondition:
    key: str
    kind: str
    operator: str  # eq, gte, lte, gt, lt
    value: Any  # str, float, bool or an ISO date string, as the kind says


@dataclass(frozen=True)
class QuickSearch:
    """``q``: a name prefix, or an email address, or a phone number: whichever the text can be."""

    name_prefix: str
    email: str | None
    phone: str | None


@dataclass(frozen=True)
class ContactFilter:
    created_from: datetime | None = None
    created_before: datetime | None = None  # exclusive upper bound
    owners: tuple[str, ...] = ()  # member ids; "me" is the caller
    owner_none: bool = False
    sources: tuple[str, ...] = ()
    types: tuple[str, ...] = ()  # keys or ids
    stages: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    stars: int | None = None
    stars_min: int | None = None
    tags: tuple[str, ...] = ()
    name_prefix: str | None = None  # a search key (lower-case, no accents)
    email: str | None = None
    phone: str | None = None
    messenger_network: str | None = None
    messenger_handle: str | None = None
    location: tuple[tuple[str, str], ...] = ()
    custom: tuple[CustomCondition, ...] = ()
    blocked: bool | None = None
    q: QuickSearch | None = None

    @property
    def is_empty(self) -> bool:
        return self == ContactFilter()


@dataclass(frozen=True)
class ListRequest:
    filter: ContactFilter
    sort: str = DEFAULT_SORT
    fields: tuple[str, ...] | None = None
    limit: int = 50
    after: tuple[Any, ...] | None = None  # the cursor's position: (sort value, id) or (id,)


@dataclass(frozen=True)
class FilterContext:
    """What parsing needs to know about the workspace: phone region, time zone, custom field kinds, now."""

    region: str
    time_zone: str = "UTC"
    custom_fields: Mapping[str, str] = field(default_factory=dict)  # key -> kind
    now: datetime | None = None


def flatten(params: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Query parameters as one value per name; a repeated name (``tag=a&tag=b``) reads as a comma list."""
    flat: dict[str, str] = {}
    for name, value in params:
        flat[name] = f"{flat[name]},{value}" if name in flat else value
    return flat


def split_list(raw: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(part.strip() for part in raw.split(",") if part.strip()))


def parse_filter(params: Mapping[str, Any], ctx: FilterContext) -> ContactFilter:
    """The filter the parameters describe; unknown names and bad values raise InvalidInput naming each one."""
    errors: list[FieldError] = []
    values: dict[str, Any] = {}
    location: list[tuple[str, str]] = []
    custom: list[CustomCondition] = []
    zone = _zone(ctx.time_zone)
    for name, raw_value in params.items():
        if name in CONTROL_PARAMS:
            continue
        raw = "" if raw_value is None else str(raw_value).strip()
        try:
            if name in SIMPLE_FILTERS:
                _parse_simple(name, raw, ctx, zone, values)
            elif name.startswith("location."):
                key = name.removeprefix("location.")
                if key not in LOCATION_KEYS:
                    raise _Bad(f"unknown location part; use one of {', '.join(LOCATION_KEYS)}", "unknown_filter")
                location.append((key, _required(raw)))
            elif name.startswith("cf."):
                custom.append(_parse_custom(name, raw, ctx.custom_fields))
            else:
                raise _Bad("unknown filter", "unknown_filter")
        except _Bad as bad:
            errors.append(FieldError(name, bad.message, bad.code))
    if errors:
        raise InvalidInput("the contact filter is not valid", errors=errors)
    return ContactFilter(**values, location=tuple(sorted(location)), custom=tuple(custom))


def parse_list_request(
    params: Mapping[str, Any], ctx: FilterContext, *, allowed_fields: Collection[str]
) -> ListRequest:
    """Filter, sort, sparse fields, limit and cursor of ``GET /v1/contacts``."""
    errors: list[FieldError] = []
    try:
        contact_filter = parse_filter(params, ctx)
    except InvalidInput as invalid:
        errors.extend(invalid.errors)
        contact_filter = ContactFilter()
    sort = str(params.get("sort") or DEFAULT_SORT).strip()
    if sort not in SORTS:
        errors.append(FieldError("sort", f"sort by one of {', '.join(SORTS)}", "invalid_sort"))
    fields = None
    if params.get("fields"):
        fields = split_list(str(params["fields"]))
        unknown = [f for f in fields if f not in allowed_fields]
        if unknown:
            errors.append(FieldError("fields", f"unknown fields: {', '.join(unknown)}", "unknown_field"))
    limit = paging.DEFAULT_LIMIT
    if params.get("limit") not in (None, ""):
        try:
            limit = int(str(params["limit"]))
        except ValueError:
            limit = 0
        if not 1 <= limit <= MAX_LIMIT:
            errors.append(FieldError("limit", f"a whole number from 1 to {MAX_LIMIT}", "invalid_limit"))
    after = None
    if params.get("cursor") and sort in SORTS:
        try:
            after = decode_cursor(str(params["cursor"]), sort)
        except InvalidInput as invalid:
            errors.extend(invalid.errors)
    if errors:
        raise InvalidInput("the contact list request is not valid", errors=errors)
    return ListRequest(filter=contact_filter, sort=sort, fields=fields, limit=limit, after=after)


def encode_cursor(sort: str, values: tuple[Any, ...]) -> str:
    """An opaque position in one sort order; it carries the sort, so it is refused under another one."""
    return paging.encode(*values, scope=f"sort={sort}")


def decode_cursor(cursor: str, sort: str) -> tuple[Any, ...]:
    """The (sort value, id) a cursor of this sort points at; a date sort's value comes back as a moment."""
    values = tuple(paging.decode(cursor, scope=f"sort={sort}"))
    if len(values) != 2 or not all(isinstance(v, str | int) for v in values):
        raise paging.invalid_cursor()
    if sort.lstrip("-") in ("created_at", "updated_at"):
        try:
            values = (datetime.fromisoformat(str(values[0])), values[1])
        except ValueError:
            raise paging.invalid_cursor() from None
    return values


def query_for_storage(params: Mapping[str, Any], ctx: FilterContext) -> dict[str, str]:
    """A saved filter's query: checked like the list's parameters, kept as given (only filters, sort, fields)."""
    kept = {str(k): str(v) for k, v in params.items() if k not in ("cursor", "limit", "filter")}
    errors: list[FieldError] = []
    try:
        parse_filter(kept, ctx)
    except InvalidInput as invalid:
        errors.extend(invalid.errors)
    if "sort" in kept and kept["sort"] not in SORTS:
        errors.append(FieldError("sort", f"sort by one of {', '.join(SORTS)}", "invalid_sort"))
    if errors:
        raise InvalidInput("the saved filter's query is not valid", errors=[_prefixed("query", e) for e in errors])
    return kept


def _prefixed(prefix: str, error: FieldError) -> FieldError:
    return FieldError(f"{prefix}.{error.field}", error.message, error.code)


class _Bad(Exception):
    def __init__(self, message: str, code: str = "invalid") -> None:
        super().__init__(message)
        self.message, self.code = message, code


def _required(raw: str) -> str:
    if not raw:
        raise _Bad("must not be empty", "required")
    return raw


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _parse_simple(name: str, raw: str, ctx: FilterContext, zone: ZoneInfo, values: dict[str, Any]) -> None:
    _required(raw)
    if name == "created_from":
        moment, _is_date = _moment(raw, zone)
        values["created_from"] = moment
    elif name == "created_to":
        moment, is_date = _moment(raw, zone)
        # a date means the whole day; a date-time is included itself
        values["created_before"] = moment + (timedelta(days=1) if is_date else timedelta(microseconds=1))
    elif name == "created_within_days":
        days = _whole_number(raw, minimum=0, maximum=36500)
        values["created_from"] = (ctx.now or datetime.now(zone)) - timedelta(days=days)
    elif name == "owner":
        owners = split_list(raw)
        values["owner_none"] = "none" in owners
        values["owners"] = tuple(o for o in owners if o != "none")
    elif name in ("source", "type", "stage"):
        values[{"source": "sources", "type": "types", "stage": "stages"}[name]] = split_list(raw)
    elif name == "status":
        statuses = split_list(raw)
        unknown = [s for s in statuses if s not in STATUSES]
        if unknown:
            raise _Bad(f"unknown status {', '.join(unknown)}; use {', '.join(STATUSES)}", "invalid_status")
        values["statuses"] = statuses
    elif name == "stars":
        values["stars"] = _whole_number(raw, minimum=0, maximum=3)
    elif name == "stars_min":
        values["stars_min"] = _whole_number(raw, minimum=0, maximum=3)
    elif name == "tag":
        values["tags"] = tuple(
            dict.fromkeys(" ".join(t.split()).lower() for t in split_list(raw))
        )  # tags are kept lower-cased
    elif name == "name":
        values["name_prefix"] = _required(search_key(raw))
    elif name == "email":
        email, error = normalize_email(raw)
        if error:
            raise _Bad(error.message, error.code)
        values["email"] = email
    elif name == "phone":
        phone, error = normalize_phone(raw, ctx.region)
        if error:
            raise _Bad(error.message, error.code)
        values["phone"] = phone
    elif name == "messenger":
        network, sep, handle = raw.partition(":")
        if sep and network.strip() and handle.strip():
            values["messenger_network"], values["messenger_handle"] = network.strip().lower(), handle.strip()
        else:
            values["messenger_handle"] = raw
    elif name == "blocked":
        values["blocked"] = _boolean(raw)
    elif name == "q":
        values["q"] = quick_search(raw, ctx.region)


def quick_search(raw: str, region: str) -> QuickSearch:
    email = normalize_email(raw)[0] if "@" in raw else None
    phone = normalize_phone(raw, region)[0] if any(c.isdigit() for c in raw) else None
    return QuickSearch(name_prefix=search_key(raw), email=email, phone=phone)


def _moment(raw: str, zone: ZoneInfo) -> tuple[datetime, bool]:
    """An ISO date (midnight in the workspace's time zone) or date-time (naive ones in that zone)."""
    try:
        if len(raw) == 10:
            return datetime.combine(date.fromisoformat(raw), time(), tzinfo=zone), True
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise _Bad("an ISO date (2024-05-31) or date-time (2024-05-31T18:00:00Z)", "invalid_date") from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=zone)), False


def _whole_number(raw: str, *, minimum: int, maximum: int) -> int:
    try:
        number = int(raw)
    except ValueError:
        raise _Bad(f"a whole number from {minimum} to {maximum}", "invalid_number") from None
    if not minimum <= number <= maximum:
        raise _Bad(f"a whole number from {minimum} to {maximum}", "out_of_range")
    return number


def _boolean(raw: str) -> bool:
    lowered = raw.lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no"):
        return False
    raise _Bad("true or false", "invalid_boolean")


def _parse_custom(name: str, raw: str, kinds: Mapping[str, str]) -> CustomCondition:
    key, _dot, operator = name.removeprefix("cf.").partition(".")
    operator = operator or "eq"
    if key not in kinds:
        raise _Bad(f"no custom field {key!r} in this workspace", "unknown_custom_field")
    kind = kinds[key]
    if operator not in CUSTOM_FIELD_OPERATORS:
        raise _Bad(f"unknown operator {operator!r}; use {', '.join(CUSTOM_FIELD_OPERATORS)}", "unknown_filter")
    if operator != "eq" and kind not in ORDERED_KINDS:
        raise _Bad(f"{operator} works on number and date fields, {key!r} is {kind}", "invalid_operator")
    _required(raw)
    value: Any = raw
    if kind == "number":
        try:
            value = float(raw)
        except ValueError:
            raise _Bad("a number", "invalid_number") from None
    elif kind == "date":
        try:
            value = date.fromisoformat(raw).isoformat()
        except ValueError:
            raise _Bad("an ISO date (2024-05-31)", "invalid_date") from None
    elif kind == "boolean":
        value = _boolean(raw)
    elif kind == "email":
        value = normalize_email(raw)[0] or raw.lower()
    return CustomCondition(key=key, kind=kind, operator=operator, value=value)
