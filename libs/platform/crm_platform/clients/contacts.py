"""What other services ask the contacts service: does this contact exist, may the caller see it, how to reach it."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Protocol

from crm.contacts.v1 import contacts_pb2, contacts_pb2_grpc
from crm_platform.context import require_caller
from crm_platform.errors import FieldError, InvalidInput, NotFound, Word, phrase
from crm_platform.grpc_client import GrpcClients
from crm_platform.ids import new_id
from crm_platform.visibility import may_see

# Every client of ContactsService in a process shares one channel, whose retry policy is set by the first
# client created: each names all the reads, so none loses its retries to another.
IDEMPOTENT_READS = ("GetContact", "BatchGetContacts", "GetWorkspace")


@dataclass(frozen=True)
class ContactCard:
    id: str
    name: str
    email: str | None
    phone: str | None
    owner_id: str | None = None
    blocked: bool = False  # the workspace blocked the contact: no mail goes to it
    email_status: str = "active"  # of the primary address: active, or inactive (``email_inactive_reason`` says why)
    email_inactive_reason: str | None = None  # hard_bounce, mailbox_full, spam_complaint, unsubscribed, manual...


@dataclass(frozen=True)
class MemberCard:
    """A member of the workspace as mail needs them: the display name in From, the signature below a body."""

    id: str
    name: str
    signature: str | None
    email: str | None = None  # where mail to the member goes (notifications)


@dataclass(frozen=True)
class ContactAccess:
    """Whether the caller may see a contact, with what a service keeps to apply the rule itself."""

    contact_id: str
    owner_id: str | None
    agents_see_all: bool
    visible: bool


class ContactDirectory(Protocol):
    def get(self, contact_id: str) -> ContactCard:
        """The contact in the caller's workspace; raises NotFound otherwise."""
        ...

    def access(self, contact_id: str) -> ContactAccess:
        """The caller's access to a contact of its workspace; raises NotFound for an unknown one."""
        ...

    def member(self, member_id: str) -> MemberCard | None:
        """A member of the caller's workspace, or None."""
        ...

    def get_many(self, contact_ids: list[str]) -> dict[str, ContactCard]:
        """The caller's workspace's contacts among these ids, by id, in one call; an unknown, deleted or another
        workspace's id is left out."""
        ...

    def find_or_create_by_email(self, address: str, *, name: str = "") -> tuple[ContactCard, bool]:
        """The caller's workspace's contact having this address among any of its emails, or a new one named
        ``name`` (the address' local part when empty); and whether it was created. A blocked contact is
        returned as it is (``blocked``): the caller decides. Raises InvalidInput for a malformed address.
        Only inbound mail and chat may ask (contacts answers other services PERMISSION_DENIED)."""
        ...


def require_visible_contact(contacts: ContactDirectory, contact_id: str, *, what: str) -> ContactAccess:
    """The caller's access to the contact a new ``what`` (ticket, conversation, ...) is for, in one call: an
    unknown contact is a field error, one the caller may not see is not found (404, as contacts answers it)."""
    try:
        access = contacts.access(contact_id)
    except NotFound:
        raise InvalidInput(
            phrase("the {what} has invalid fields", what=Word(what)),
            errors=[
                FieldError("contact_id", phrase("no contact {id} in this workspace", id=contact_id), "unknown_contact")
            ],
        ) from None
    if not access.visible:
        raise NotFound(f"contact {contact_id} not found")
    return access


@dataclass
class FakeContactDirectory:
    """ContactDirectory in memory, for use cases' unit tests: it answers as the contacts service does for the
    caller bound in ``crm_platform.context``. An unknown, deleted or another workspace's contact is NotFound
    (``get`` and ``access``); ``access`` applies the visibility rule with the workspace's setting (agents see
    every contact unless ``restrict_agents`` says otherwise). tests/integration/platform/test_fakes.py runs the
    same assertions against it and the real one."""

    _contacts: dict[str, tuple[str, ContactCard]] = field(default_factory=dict)  # id -> (workspace, card)
    _deleted: set[str] = field(default_factory=set)
    _restricted: set[str] = field(default_factory=set)  # workspaces whose agents see only their own contacts
    _members: dict[str, tuple[str, MemberCard]] = field(default_factory=dict)  # id -> (workspace, card)
    _other_emails: dict[str, tuple[str, ...]] = field(default_factory=dict)  # id -> its addresses besides ``email``

    def add(
        self,
        workspace_id: str,
        *,
        name: str = "Ana López",
        email: str | None = "ana@example.com",
        phone: str | None = None,
        owner_id: str | None = None,
        blocked: bool = False,
        email_inactive_reason: str | None = None,
        other_emails: tuple[str, ...] = (),
    ) -> ContactCard:
        card = ContactCard(
            id=new_id(),
            name=name,
            email=email,
            phone=phone,
            owner_id=owner_id,
            blocked=blocked,
            email_status="inactive" if email_inactive_reason else "active",
            email_inactive_reason=email_inactive_reason,
        )
        self._contacts[card.id] = (workspace_id, card)
        self._other_emails[card.id] = tuple(address.lower() for address in other_emails)
        return card

    def add_member(
        self, workspace_id: str, *, name: str = "Luis Gil", signature: str | None = None, email: str | None = None
    ) -> MemberCard:
        card = MemberCard(id=new_id(), name=name, signature=signature, email=email)
        self._members[card.id] = (workspace_id, card)
        return card

    def member(self, member_id: str) -> MemberCard | None:
        found = self._members.get(member_id)
        return found[1] if found and found[0] == require_caller().workspace_id else None

    def delete(self, contact_id: str) -> None:
        self._deleted.add(contact_id)

    def give(self, contact_id: str, owner_id: str | None) -> None:
        workspace_id, card = self._contacts[contact_id]
        self._contacts[contact_id] = (workspace_id, replace(card, owner_id=owner_id))

    def restrict_agents(self, workspace_id: str, restricted: bool = True) -> None:
        (self._restricted.add if restricted else self._restricted.discard)(workspace_id)

    def get(self, contact_id: str) -> ContactCard:
        return self._live(contact_id)[1]

    def get_many(self, contact_ids: list[str]) -> dict[str, ContactCard]:
        found: dict[str, ContactCard] = {}
        for contact_id in contact_ids:
            try:
                found[contact_id] = self._live(contact_id)[1]
            except NotFound:
                continue
        return found

    def block(self, contact_id: str, blocked: bool = True) -> None:
        workspace_id, card = self._contacts[contact_id]
        self._contacts[contact_id] = (workspace_id, replace(card, blocked=blocked))

    def turn_off_email(self, contact_id: str, reason: str) -> None:
        """The primary address turned inactive (bounced, unsubscribed, ...), as contacts records it."""
        workspace_id, card = self._contacts[contact_id]
        self._contacts[contact_id] = (
            workspace_id,
            replace(card, email_status="inactive", email_inactive_reason=reason),
        )

    def access(self, contact_id: str) -> ContactAccess:
        workspace_id, card = self._live(contact_id)
        agents_see_all = workspace_id not in self._restricted
        return ContactAccess(
            contact_id=contact_id,
            owner_id=card.owner_id,
            agents_see_all=agents_see_all,
            visible=may_see(require_caller(), agents_see_all=agents_see_all, owner_id=card.owner_id),
        )

    def find_or_create_by_email(self, address: str, *, name: str = "") -> tuple[ContactCard, bool]:
        workspace_id = require_caller().workspace_id
        normalized = address.strip().lower()
        local, at, domain = normalized.partition("@")
        if not at or not local or "." not in domain or " " in normalized:
            raise InvalidInput("not an email address", errors=[FieldError("address", "not an email address")])
        for contact_id, (owner, card) in self._contacts.items():  # oldest first, as contacts answers
            addresses = ((card.email or "").lower(), *self._other_emails.get(contact_id, ()))
            if owner == workspace_id and contact_id not in self._deleted and normalized in addresses:
                return card, False
        return self.add(workspace_id, name=name.strip() or local, email=normalized), True

    def _live(self, contact_id: str) -> tuple[str, ContactCard]:
        found = self._contacts.get(contact_id)
        if found is None or found[0] != require_caller().workspace_id or contact_id in self._deleted:
            raise NotFound(f"contact {contact_id} not found")
        return found


class GrpcContactDirectory:
    """ContactDirectory over gRPC; reads are retried on UNAVAILABLE and bounded by a deadline."""

    def __init__(self, clients: GrpcClients) -> None:
        self._client = clients.client(
            "contacts",
            contacts_pb2_grpc.ContactsServiceStub,
            "crm.contacts.v1.ContactsService",
            idempotent=IDEMPOTENT_READS,
        )

    def get(self, contact_id: str) -> ContactCard:
        return _card_of(self._client.call("GetContact", contacts_pb2.GetContactRequest(contact_id=contact_id)))

    def get_many(self, contact_ids: list[str]) -> dict[str, ContactCard]:
        if not contact_ids:
            return {}
        found = self._client.call(
            "BatchGetContacts", contacts_pb2.BatchGetContactsRequest(contact_ids=list(dict.fromkeys(contact_ids)))
        )
        return {contact.id: _card_of(contact) for contact in found.contacts}

    def find_or_create_by_email(self, address: str, *, name: str = "") -> tuple[ContactCard, bool]:
        found = self._client.call(
            "FindOrCreateContactByEmail", contacts_pb2.FindOrCreateContactByEmailRequest(address=address, name=name)
        )
        return _card_of(found.contact), bool(found.created)

    def member(self, member_id: str) -> MemberCard | None:
        """A member of the caller's workspace, or None when there is no such member."""
        try:
            found = self._client.call("GetMember", contacts_pb2.GetMemberRequest(member_id=member_id))
        except NotFound:
            return None
        return MemberCard(
            id=found.id, name=found.name, signature=found.signature or None, email=found.email.lower() or None
        )

    def access(self, contact_id: str) -> ContactAccess:
        found = self._client.call("GetContactAccess", contacts_pb2.GetContactAccessRequest(contact_id=contact_id))
        return ContactAccess(
            contact_id=found.contact_id,
            owner_id=found.owner_id or None,
            agents_see_all=found.agents_see_all,
            visible=found.visible,
        )


def _card_of(found: contacts_pb2.Contact) -> ContactCard:
    primary = next((e for e in found.emails if e.address == found.email), None)
    return ContactCard(
        id=found.id,
        name=found.name,
        email=found.email or None,
        phone=found.phone or None,
        owner_id=found.owner_id or None,
        blocked=found.blocked,
        email_status=(primary.status or "active") if primary else "active",
        email_inactive_reason=(primary.inactive_reason or None) if primary else None,
    )


class GrpcWorkspaceLookup:
    """Whether the caller's workspace exists, asked of the contacts service (which owns workspaces)."""

    def __init__(self, clients: GrpcClients) -> None:
        self._client = clients.client(
            "contacts",
            contacts_pb2_grpc.ContactsServiceStub,
            "crm.contacts.v1.ContactsService",
            idempotent=IDEMPOTENT_READS,
        )

    def __call__(self, workspace_id: str) -> bool:
        """``workspace_id`` is the caller's: the call carries it as ``x-workspace-id``."""
        try:
            found = self._client.call("GetWorkspace", contacts_pb2.GetWorkspaceRequest())
        except NotFound:
            return False
        return bool(found.id == workspace_id)
