"""Pure rules about team members: who may change what, and that a workspace always keeps an admin."""

from __future__ import annotations

from collections.abc import Iterable

from crm_contacts.members.models import ROLES
from crm_platform.context import Caller
from crm_platform.errors import FieldError, Forbidden, phrase

# what a member may change on their own record; everything else needs an admin
SELF_EDITABLE = frozenset({"name", "signature"})
ADMIN_EDITABLE = frozenset({"name", "email", "role", "signature", "active"})
MAX_SIGNATURE = 10_000


def check_may_edit(caller: Caller, member_id: str, fields: Iterable[str]) -> None:
    """Admins edit anyone; a member edits only their own name and signature."""
    if caller.is_admin:
        return
    if caller.user_id != member_id:
        raise Forbidden("only admins can change other members")
    refused = sorted(set(fields) - SELF_EDITABLE)
    if refused:
        raise Forbidden(phrase("only admins can change {fields}", fields=", ".join(refused)))


def check_role(role: str) -> FieldError | None:
    if role not in ROLES:
        return FieldError("role", phrase("must be one of {choices}", choices=", ".join(ROLES)), "invalid_role")
    return None


def check_name(name: str) -> tuple[str, FieldError | None]:
    cleaned = " ".join(name.split())
    if not cleaned:
        return cleaned, FieldError("name", "must not be empty", "required")
    if len(cleaned) > 200:
        return cleaned, FieldError("name", "must be at most 200 characters", "too_long")
    return cleaned, None


def check_signature(signature: str) -> FieldError | None:
    if len(signature) > MAX_SIGNATURE:
        return FieldError("signature", phrase("must be at most {limit} characters", limit=MAX_SIGNATURE), "too_long")
    return None


def leaves_no_admin(*, active_admin_ids: Iterable[str], member_id: str, still_admin: bool) -> bool:
    """Whether taking ``member_id`` out of the active admins (``still_admin`` False) leaves none."""
    remaining = set(active_admin_ids)
    if not still_admin:
        remaining.discard(member_id)
    return not remaining
