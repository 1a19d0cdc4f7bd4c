"""gRPC authentication against the real contacts server on loopback: only verified credentials make a caller,
and only the services declared for a method may call it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from sqlalchemy import func, select

from crm.contacts.v1 import contacts_pb2, contacts_pb2_grpc
from crm_contacts.app import SERVICE
from crm_contacts.record.models import Contact
from crm_platform import discovery
from crm_platform import settings as platform_settings
from crm_platform.grpc_server import GrpcServer
from crm_platform.service_tokens import SERVICE_TOKEN_METADATA, ServiceTokenMinter, decode_key, new_private_key
from tests.support import service_keys
from tests.support.stack import ContactsPeer, RunningService, running, service_env

CONTACTS = "crm.contacts.v1.ContactsService"
FORGED = [("x-workspace-id", "{ws}"), ("x-user-id", "admin-1"), ("x-user-role", "admin")]


@pytest.fixture(scope="module")
def contacts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningService]:
    folder = tmp_path_factory.mktemp("grpc-auth")
    with running(SERVICE, f"sqlite:///{folder}/contacts.db", folder) as service:
        yield service


def start(service: RunningService, settings: platform_settings.Settings | None = None) -> GrpcServer:
    server = GrpcServer(
        [(b, service.rt.metrics) for b in SERVICE.grpc_bindings(service.rt)],
        address="127.0.0.1:0",
        settings=settings or service.rt.settings,
    )
    server.start()
    return server


@pytest.fixture(scope="module")
def stub(contacts: RunningService) -> Iterator[contacts_pb2_grpc.ContactsServiceStub]:
    server = start(contacts)
    with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        yield contacts_pb2_grpc.ContactsServiceStub(channel)
    server.stop(grace=0)


@pytest.fixture(scope="module")
def peer(contacts: RunningService) -> ContactsPeer:
    return ContactsPeer(rt=contacts.rt, target="")


def refused(call: object, *args: object, **kwargs: object) -> grpc.StatusCode:
    with pytest.raises(grpc.RpcError) as error:
        call(*args, **kwargs)  # type: ignore[operator]
    return error.value.code()  # type: ignore[no-any-return]


def count_contacts(contacts: RunningService, workspace_id: str) -> int:
    with contacts.rt.database.engine.connect() as connection:
        query = select(func.count()).select_from(Contact).where(Contact.workspace_id == workspace_id)
        return int(connection.execute(query).scalar_one())


def test_a_call_with_no_credential_is_unauthenticated(stub: contacts_pb2_grpc.ContactsServiceStub) -> None:
    assert refused(stub.GetContact, contacts_pb2.GetContactRequest(contact_id="c-1"), timeout=5) == (
        grpc.StatusCode.UNAUTHENTICATED
    )


def test_forged_identity_metadata_alone_reads_and_creates_nothing(
    contacts: RunningService, peer: ContactsPeer, stub: contacts_pb2_grpc.ContactsServiceStub
) -> None:
    acme = peer.workspace()
    ana = peer.contact(acme)
    forged = [(key, value.format(ws=acme)) for key, value in FORGED]

    read = refused(stub.GetContact, contacts_pb2.GetContactRequest(contact_id=ana), metadata=forged, timeout=5)
    create = refused(
        stub.FindOrCreateContactByEmail,
        contacts_pb2.FindOrCreateContactByEmailRequest(address="mallory@example.com"),
        metadata=forged,
        timeout=5,
    )

    assert (read, create) == (grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.UNAUTHENTICATED)
    assert count_contacts(contacts, acme) == 1


def test_forged_metadata_beside_a_real_credential_does_not_change_the_caller(
    peer: ContactsPeer, stub: contacts_pb2_grpc.ContactsServiceStub
) -> None:
    acme, globex = peer.workspace(), peer.workspace(name="Globex")
    globex_contact = peer.contact(globex)
    metadata = service_keys.credentials("tickets", CONTACTS, workspace_id=acme)
    metadata += [(key, value.format(ws=globex)) for key, value in FORGED]

    code = refused(stub.GetContact, contacts_pb2.GetContactRequest(contact_id=globex_contact), metadata=metadata)

    assert code == grpc.StatusCode.NOT_FOUND  # the workspace claimed is not the credential's


def test_a_key_removed_from_the_trusted_set_is_refused(
    contacts: RunningService, peer: ContactsPeer, tmp_path: Path
) -> None:
    acme = peer.workspace()
    ana = peer.contact(acme)
    revoked = service_keys.env(trusted=tuple(s for s in discovery.names() if s != "mailer"))
    server = start(
        contacts, platform_settings.load("contacts", service_env("contacts", "sqlite://", tmp_path, **revoked))
    )
    request = contacts_pb2.GetContactRequest(contact_id=ana)
    try:
        with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
            stub = contacts_pb2_grpc.ContactsServiceStub(channel)
            by_mailer = refused(
                stub.GetContact, request, metadata=service_keys.credentials("mailer", CONTACTS, workspace_id=acme)
            )
            by_tickets = stub.GetContact(
                request, metadata=service_keys.credentials("tickets", CONTACTS, workspace_id=acme), timeout=5
            )
    finally:
        server.stop(grace=0)

    assert by_mailer == grpc.StatusCode.UNAUTHENTICATED
    assert by_tickets.id == ana


def test_a_token_signed_with_an_unknown_key_expired_or_meant_for_another_service_is_refused(
    peer: ContactsPeer, stub: contacts_pb2_grpc.ContactsServiceStub
) -> None:
    acme = peer.workspace()
    request = contacts_pb2.GetContactRequest(contact_id=peer.contact(acme))
    impostor = ServiceTokenMinter("tickets", new_private_key()).token(CONTACTS, acme)
    elsewhere = ServiceTokenMinter("tickets", service_keys.private_key("tickets")).token(
        "crm.tickets.v1.TicketsService", acme
    )
    now = int(time.time())
    expired = jwt.encode(
        {"iss": "tickets", "sub": "tickets", "aud": CONTACTS, "iat": now - 200, "exp": now - 80, "workspace_id": acme},
        Ed25519PrivateKey.from_private_bytes(decode_key(service_keys.private_key("tickets"))),
        algorithm="EdDSA",
        headers={"kid": jwt.get_unverified_header(elsewhere)["kid"]},
    )

    codes = [
        refused(stub.GetContact, request, metadata=[(SERVICE_TOKEN_METADATA, token)], timeout=5)
        for token in (impostor, elsewhere, expired, "not-a-token")
    ]

    assert codes == [grpc.StatusCode.UNAUTHENTICATED] * 4


def test_a_forwarded_user_token_of_another_workspace_finds_nothing(
    contacts: RunningService, peer: ContactsPeer, stub: contacts_pb2_grpc.ContactsServiceStub
) -> None:
    acme, globex = peer.workspace(), peer.workspace(name="Globex")
    ana = peer.contact(acme)
    globex_user = contacts.auth(globex)["Authorization"].split()[1]
    acme_user = contacts.auth(acme)["Authorization"].split()[1]
    request = contacts_pb2.GetContactRequest(contact_id=ana)

    as_globex = refused(
        stub.GetContact, request, metadata=service_keys.credentials("tickets", CONTACTS, user_token=globex_user)
    )
    claiming_acme = refused(
        stub.GetContact,
        request,
        metadata=[*service_keys.credentials("tickets", CONTACTS, user_token=globex_user), ("x-workspace-id", acme)],
    )
    as_acme = stub.GetContact(request, metadata=service_keys.credentials("tickets", CONTACTS, user_token=acme_user))
    bad_user = refused(
        stub.GetContact, request, metadata=service_keys.credentials("tickets", CONTACTS, user_token="x.y.z")
    )

    assert (as_globex, claiming_acme) == (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.NOT_FOUND)
    assert as_acme.id == ana
    assert bad_user == grpc.StatusCode.UNAUTHENTICATED


def test_a_service_not_declared_for_a_method_is_permission_denied(
    contacts: RunningService, peer: ContactsPeer, stub: contacts_pb2_grpc.ContactsServiceStub
) -> None:
    acme = peer.workspace()
    request = contacts_pb2.FindOrCreateContactByEmailRequest(address="eve@example.com")

    codes = {
        caller: refused(
            stub.FindOrCreateContactByEmail,
            request,
            metadata=service_keys.credentials(caller, CONTACTS, workspace_id=acme),
        )
        for caller in ("tickets", "reports", "contacts")
    }
    created = stub.FindOrCreateContactByEmail(
        request, metadata=service_keys.credentials("mailer", CONTACTS, workspace_id=acme), timeout=5
    )

    assert set(codes.values()) == {grpc.StatusCode.PERMISSION_DENIED}
    assert created.created is True and count_contacts(contacts, acme) == 1


def test_a_service_token_that_names_no_workspace_and_forwards_no_user_is_unauthenticated(
    stub: contacts_pb2_grpc.ContactsServiceStub,
) -> None:
    metadata = service_keys.credentials("tickets", CONTACTS)

    assert refused(stub.GetContact, contacts_pb2.GetContactRequest(contact_id="c-1"), metadata=metadata) == (
        grpc.StatusCode.UNAUTHENTICATED
    )


def _reflection_answer(port: int) -> grpc.StatusCode:
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)
        try:
            list(stub.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=5))
        except grpc.RpcError as error:
            return error.code()  # type: ignore[attr-defined,no-any-return]
    return grpc.StatusCode.OK


@pytest.mark.parametrize(
    ("environment", "setting", "expected"),
    [
        ("production", None, grpc.StatusCode.UNIMPLEMENTED),
        ("production", "true", grpc.StatusCode.OK),
        ("development", None, grpc.StatusCode.OK),
        ("development", "false", grpc.StatusCode.UNIMPLEMENTED),
    ],
)
def test_reflection_is_off_in_production_unless_turned_on(
    contacts: RunningService, tmp_path: Path, environment: str, setting: str | None, expected: grpc.StatusCode
) -> None:
    env = service_env("contacts", "sqlite://", tmp_path, CRM_ENV=environment)
    if environment == "production":
        del env["CRM_JWT_SECRET"]
        env["CRM_JWT_JWKS_URL"] = "https://idp.invalid/.well-known/jwks.json"
    if setting is not None:
        env["CRM_GRPC_REFLECTION"] = setting
    loaded = platform_settings.load("contacts", env)
    server = start(contacts, loaded)
    try:
        assert _reflection_answer(server.port) == expected
    finally:
        server.stop(grace=0)
