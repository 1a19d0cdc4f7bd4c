"""gRPC server and client of the platform against a real server on a free loopback port."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from prometheus_client import REGISTRY

from crm.contacts.v1 import contacts_pb2, contacts_pb2_grpc
from crm_contacts.app import SERVICE
from crm_contacts.contacts import create as contacts
from crm_platform import auth, context, migrations, settings
from crm_platform.errors import NotFound, Unavailable
from crm_platform.grpc_client import GrpcClients, call_metadata
from crm_platform.grpc_server import GrpcServer
from crm_platform.ids import new_id
from crm_platform.service import GrpcBinding, Runtime, bootstrap
from tests.support import service_keys
from tests.support.infra import free_port

CONTACTS = "crm.contacts.v1.ContactsService"


def runtime_for(folder: Any, target_port: int, target: str | None = None) -> Runtime:
    url = f"sqlite:///{folder}/contacts.db"
    env = {
        "CONTACTS_DATABASE_URL": url,
        "CRM_LOCAL_BUS_URL": f"sqlite:///{folder}/bus.db",
        "CRM_JWT_SECRET": "grpc-test-secret-long-enough-for-hs256",
        "CRM_CONTACTS_GRPC_TARGET": target or f"127.0.0.1:{target_port}",
        "CRM_GRPC_DEADLINE_SECONDS": "3",
        "CRM_ENV": "test",
        **service_keys.env(),
    }
    migrations.upgrade(SERVICE, url)
    runtime = bootstrap(SERVICE, settings.load("contacts", env))
    # The calls come from tickets, as when an agent opens a ticket: contacts may not call its own reads.
    runtime.grpc = GrpcClients(settings.load("tickets", env | {"TICKETS_DATABASE_URL": url}))
    return runtime


@pytest.fixture(scope="module")
def rt(tmp_path_factory) -> Iterator[Runtime]:  # type: ignore[no-untyped-def]
    runtime = runtime_for(tmp_path_factory.mktemp("grpc"), free_port())
    yield runtime
    runtime.close()


def serve(rt: Runtime, port: int, bindings: list[GrpcBinding] | None = None, **options: Any) -> GrpcServer:
    server = GrpcServer(
        [(b, rt.metrics) for b in (bindings or SERVICE.grpc_bindings(rt))],
        address=f"127.0.0.1:{port}",
        settings=rt.settings,
        **options,
    )
    server.start()
    return server


@pytest.fixture(scope="module")
def server(rt: Runtime) -> Iterator[GrpcServer]:
    port = int(rt.settings.grpc_targets["contacts"].rsplit(":", 1)[1])
    running = serve(rt, port)
    yield running
    running.stop(grace=0.5)


@pytest.fixture(scope="module")
def channel(rt: Runtime, server: GrpcServer) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(rt.settings.grpc_targets["contacts"]) as opened:
        yield opened


@pytest.fixture(scope="module")
def workspace_id(rt: Runtime) -> str:
    return SERVICE.demo_seed(rt)["workspace_id"]  # type: ignore[misc]


def as_caller(workspace_id: str) -> Any:
    """A service acting on its own for ``workspace_id`` (an event): its service token names the workspace."""
    return context.bound(
        request_id="req-grpc", caller=context.Caller(workspace_id=workspace_id, user_id="system:x", role="system")
    )


def binding(servicer: Any) -> GrpcBinding:
    """A stand-in contacts servicer that tickets may call."""
    callers = {"GetContact": ("tickets",), "BatchGetContacts": ("tickets",)}
    return GrpcBinding(CONTACTS, contacts_pb2_grpc.add_ContactsServiceServicer_to_server, servicer, callers)


def contacts_client(clients: GrpcClients, idempotent: tuple[str, ...] = ("GetContact",)) -> Any:
    return clients.client("contacts", contacts_pb2_grpc.ContactsServiceStub, CONTACTS, idempotent=idempotent)


# health and reflection -------------------------------------------------------------------------
def test_health_reports_serving_for_the_server_and_each_service(channel: grpc.Channel) -> None:
    health = health_pb2_grpc.HealthStub(channel)

    for name in ("", CONTACTS):
        answer = health.Check(health_pb2.HealthCheckRequest(service=name), timeout=3)
        assert answer.status == health_pb2.HealthCheckResponse.SERVING


def test_health_flips_to_not_serving_when_the_server_stops(rt: Runtime, tmp_path) -> None:  # type: ignore[no-untyped-def]
    port = free_port()
    stopping = serve(rt, port)
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        watch = health_pb2_grpc.HealthStub(channel).Watch(health_pb2.HealthCheckRequest(service=CONTACTS), timeout=10)
        assert next(watch).status == health_pb2.HealthCheckResponse.SERVING

        threading.Thread(target=stopping.stop, kwargs={"grace": 2.0}, daemon=True).start()

        assert next(watch).status == health_pb2.HealthCheckResponse.NOT_SERVING


def test_reflection_lists_the_domain_health_and_reflection_services(channel: grpc.Channel) -> None:
    stub = reflection_pb2_grpc.ServerReflectionStub(channel)

    [answer] = list(
        stub.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=3)
    )

    names = {service.name for service in answer.list_services_response.service}
    assert {CONTACTS, "grpc.health.v1.Health", "grpc.reflection.v1alpha.ServerReflection"} <= names


# identity and errors ---------------------------------------------------------------------------
def test_a_call_without_credentials_is_unauthenticated(channel: grpc.Channel) -> None:
    stub = contacts_pb2_grpc.ContactsServiceStub(channel)

    with pytest.raises(grpc.RpcError) as error:
        stub.GetContact(contacts_pb2.GetContactRequest(contact_id=new_id()), timeout=3)

    assert error.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_a_missing_contact_answers_not_found_on_the_wire(channel: grpc.Channel, workspace_id: str) -> None:
    stub = contacts_pb2_grpc.ContactsServiceStub(channel)

    with pytest.raises(grpc.RpcError) as error:
        stub.GetContact(
            contacts_pb2.GetContactRequest(contact_id=new_id()),
            timeout=3,
            metadata=service_keys.credentials("tickets", CONTACTS, workspace_id=workspace_id),
        )

    assert error.value.code() == grpc.StatusCode.NOT_FOUND


def test_the_client_raises_not_found_for_a_missing_contact(rt: Runtime, server: GrpcServer, workspace_id: str) -> None:
    client = contacts_client(rt.grpc)

    with as_caller(workspace_id), pytest.raises(NotFound):
        client.call("GetContact", contacts_pb2.GetContactRequest(contact_id=new_id()))


def test_the_client_gets_a_contact_of_the_callers_workspace_only(
    rt: Runtime, server: GrpcServer, workspace_id: str
) -> None:
    contact = contacts.create(rt.database.unit_of_work(), workspace_id=workspace_id, name="Ada", email=None, phone=None)
    client = contacts_client(rt.grpc)

    with as_caller(workspace_id):
        found = client.call("GetContact", contacts_pb2.GetContactRequest(contact_id=contact.id))
    with as_caller(new_id()), pytest.raises(NotFound):
        client.call("GetContact", contacts_pb2.GetContactRequest(contact_id=contact.id))

    assert (found.id, found.name, found.workspace_id) == (contact.id, "Ada", workspace_id)


# deadlines and retries -------------------------------------------------------------------------
@pytest.mark.parametrize("method", ["GetContact", "BatchGetContacts"])
def test_a_call_to_a_dead_target_fails_with_unavailable_within_its_deadline(tmp_path, method: str) -> None:  # type: ignore[no-untyped-def]
    rt = runtime_for(tmp_path, free_port())  # nothing listens there
    request = (
        contacts_pb2.GetContactRequest(contact_id=new_id())
        if method == "GetContact"
        else contacts_pb2.BatchGetContactsRequest(contact_ids=[new_id()])
    )
    started = time.monotonic()

    with as_caller("ws"), pytest.raises(Unavailable):
        contacts_client(rt.grpc).call(method, request, timeout=1.0)

    assert time.monotonic() - started < 1.0 + 1.0
    rt.close()


def test_an_idempotent_read_waits_for_a_server_that_comes_up_within_the_deadline(tmp_path) -> None:  # type: ignore[no-untyped-def]
    port = free_port()
    rt = runtime_for(tmp_path, port)
    workspace_id = SERVICE.demo_seed(rt)["workspace_id"]  # type: ignore[misc]
    late: list[GrpcServer] = []
    timer = threading.Timer(0.7, lambda: late.append(serve(rt, port)))
    timer.start()
    try:
        with as_caller(workspace_id), pytest.raises(NotFound):  # NOT_FOUND comes from the server: it got there
            contacts_client(rt.grpc).call("GetContact", contacts_pb2.GetContactRequest(contact_id=new_id()), timeout=5)
    finally:
        timer.join()
        for server in late:
            server.stop(grace=0.1)
        rt.close()


class FlakyContacts(contacts_pb2_grpc.ContactsServiceServicer):
    """Answers UNAVAILABLE to the first calls of each method, as a server shedding load would."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls: dict[str, int] = {}

    def _count(self, method: str, context: grpc.ServicerContext) -> None:
        self.calls[method] = self.calls.get(method, 0) + 1
        if self.calls[method] <= self.failures:
            context.abort(grpc.StatusCode.UNAVAILABLE, "overloaded, try again")

    def GetContact(self, request: Any, context: grpc.ServicerContext) -> Any:  # noqa: N802
        self._count("GetContact", context)
        return contacts_pb2.Contact(id=request.contact_id, name="Ada")

    def BatchGetContacts(self, request: Any, context: grpc.ServicerContext) -> Any:  # noqa: N802
        self._count("BatchGetContacts", context)
        return contacts_pb2.BatchGetContactsResponse()


def test_idempotent_reads_are_retried_on_unavailable_and_other_calls_are_not(tmp_path) -> None:  # type: ignore[no-untyped-def]
    port = free_port()
    rt = runtime_for(tmp_path, port)
    flaky = FlakyContacts(failures=2)
    server = serve(rt, port, [binding(flaky)])
    client = contacts_client(rt.grpc, idempotent=("GetContact",))
    try:
        with as_caller("ws-1"):
            found = client.call("GetContact", contacts_pb2.GetContactRequest(contact_id="c-1"))
            with pytest.raises(Unavailable, match="UNAVAILABLE"):
                client.call("BatchGetContacts", contacts_pb2.BatchGetContactsRequest(contact_ids=["c-1"]))
    finally:
        server.stop(grace=0.1)
        rt.close()

    assert found.id == "c-1"
    assert flaky.calls == {"GetContact": 3, "BatchGetContacts": 1}


class CountingContacts(contacts_pb2_grpc.ContactsServiceServicer):
    """One replica of the contacts gRPC server: answers GetContact and counts the calls it got."""

    def __init__(self) -> None:
        self.calls = 0
        self.peers: set[str] = set()  # the client's address and port: a new one for each connection

    def GetContact(self, request: Any, context: grpc.ServicerContext) -> Any:  # noqa: N802
        self.calls += 1
        self.peers.add(context.peer())
        return contacts_pb2.Contact(id=request.contact_id)


def replicas(rt: Runtime, ports: list[int], **options: Any) -> tuple[list[CountingContacts], list[GrpcServer]]:
    servicers = [CountingContacts() for _ in ports]
    return servicers, [serve(rt, port, [binding(s)], **options) for port, s in zip(ports, servicers, strict=True)]


def test_calls_are_spread_over_every_server_the_target_resolves_to(tmp_path) -> None:  # type: ignore[no-untyped-def]
    ports = [free_port(), free_port()]
    # What a headless Service's name resolves to in a cluster: every replica's address.
    rt = runtime_for(tmp_path, 0, target="ipv4:" + ",".join(f"127.0.0.1:{port}" for port in ports))
    servicers, servers = replicas(rt, ports)
    client = contacts_client(rt.grpc)
    try:
        with as_caller("ws-1"):
            deadline = time.monotonic() + 5  # until the channel has connected to both
            while min(s.calls for s in servicers) == 0 and time.monotonic() < deadline:
                client.call("GetContact", contacts_pb2.GetContactRequest(contact_id="c-1"))
            before = [s.calls for s in servicers]
            for _ in range(40):
                client.call("GetContact", contacts_pb2.GetContactRequest(contact_id="c-1"))
    finally:
        for server in servers:
            server.stop(grace=0.1)
        rt.close()

    assert [s.calls - b for s, b in zip(servicers, before, strict=True)] == [
        20,
        20,
    ]  # round_robin, not all on the first


def test_calls_go_on_while_the_server_recycles_old_connections(tmp_path) -> None:  # type: ignore[no-untyped-def]
    port = free_port()
    rt = runtime_for(tmp_path, port)
    servicers, servers = replicas(rt, [port], max_connection_age_seconds=0.2)
    client = contacts_client(rt.grpc, idempotent=())  # no retries: a call lost to a closed connection fails
    answered = 0
    try:
        with as_caller("ws-1"):
            until = time.monotonic() + 1.5  # several connection lifetimes
            while time.monotonic() < until:
                answered += client.call("GetContact", contacts_pb2.GetContactRequest(contact_id="c-1")).id == "c-1"
                time.sleep(0.01)
    finally:
        servers[0].stop(grace=0.1)
        rt.close()

    assert answered == servicers[0].calls > 50
    assert len(servicers[0].peers) >= 3  # the client connected again and again


class SlowContacts(contacts_pb2_grpc.ContactsServiceServicer):
    def GetContact(self, request: Any, context: grpc.ServicerContext) -> Any:  # noqa: N802
        time.sleep(0.4)
        if request.contact_id == "gone":
            context.abort(grpc.StatusCode.NOT_FOUND, "no such contact")
        return contacts_pb2.Contact(id=request.contact_id)


def test_calls_started_together_wait_side_by_side_and_each_answer_maps_its_own_failure(tmp_path) -> None:  # type: ignore[no-untyped-def]
    port = free_port()
    rt = runtime_for(tmp_path, port)
    server = serve(rt, port, [binding(SlowContacts())])
    client = contacts_client(rt.grpc)
    try:
        with as_caller("ws-1"):
            client.call("GetContact", contacts_pb2.GetContactRequest(contact_id="warm"))  # the channel connected
            started = time.monotonic()
            pending = [
                client.start("GetContact", contacts_pb2.GetContactRequest(contact_id=f"c-{i}")) for i in range(3)
            ]
            missing = client.start("GetContact", contacts_pb2.GetContactRequest(contact_id="gone"))
            answers = [p.result().id for p in pending]
            with pytest.raises(NotFound):
                missing.result()
            waited = time.monotonic() - started
    finally:
        server.stop(grace=0.1)
        rt.close()

    assert answers == ["c-0", "c-1", "c-2"]
    assert waited < 1.2  # four calls of 0.4 s each, one after the other, would take 1.6 s


# fork safety -----------------------------------------------------------------------------------
def test_channels_are_recreated_in_a_forked_child(
    rt: Runtime, server: GrpcServer, workspace_id: str, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    clients = GrpcClients(rt.grpc.settings)
    args = ("contacts", contacts_pb2_grpc.ContactsServiceStub, CONTACTS, ("GetContact",))
    parent_stub = clients.stub(*args)
    assert clients.stub(*args) is parent_stub  # one channel per target and process

    parent_pid = clients._pid
    monkeypatch.setattr("crm_platform.grpc_client.os.getpid", lambda: parent_pid + 1)  # as seen in a forked child
    child_stub = clients.stub(*args)

    assert child_stub is not parent_stub
    assert clients.stub(*args) is child_stub
    with as_caller(workspace_id), pytest.raises(NotFound):  # the new channel works
        contacts_client(clients).call("GetContact", contacts_pb2.GetContactRequest(contact_id=new_id()))
    clients.close()


# identity and metrics seen by a servicer ----------------------------------------------------------
class IdentityContacts(contacts_pb2_grpc.ContactsServiceServicer):
    """Answers with what the interceptor bound for the call: caller and request id."""

    def GetContact(self, request: Any, _context: grpc.ServicerContext) -> Any:  # noqa: N802
        caller, request_id = context.current_caller(), context.current_request_id()
        assert caller is not None
        return contacts_pb2.Contact(
            id=request_id or "", workspace_id=caller.workspace_id, owner_id=caller.user_id, status=caller.role
        )


@pytest.fixture
def identity_channel(rt: Runtime) -> Iterator[grpc.Channel]:
    port = free_port()
    server = serve(rt, port, [binding(IdentityContacts())])
    with grpc.insecure_channel(f"127.0.0.1:{port}") as opened:
        yield opened
    server.stop(grace=0.1)


def test_the_servicer_sees_the_user_whose_token_the_client_forwards_and_the_request_id(
    rt: Runtime, identity_channel: grpc.Channel
) -> None:
    stub = contacts_pb2_grpc.ContactsServiceStub(identity_channel)
    token = auth.mint_for(rt.settings, workspace_id="ws-1", user_id="u-7", role="admin")
    identity = context.Caller(workspace_id="ws-1", user_id="u-7", role="admin", token=token)
    forged = [("x-user-id", "someone-else"), ("x-user-role", "agent"), ("x-request-id", "req-1")]

    with context.bound(request_id="req-1", caller=identity):
        metadata = call_metadata(rt.grpc.minter, CONTACTS)
    seen = stub.GetContact(contacts_pb2.GetContactRequest(), metadata=[*metadata, *forged], timeout=3)

    assert (seen.workspace_id, seen.owner_id, seen.status, seen.id) == ("ws-1", "u-7", "admin", "req-1")
    assert ("authorization", f"Bearer {token}") in metadata


def test_a_service_acting_on_its_own_is_the_system_caller_of_its_tokens_workspace_with_a_fresh_request_id(
    identity_channel: grpc.Channel,
) -> None:
    stub = contacts_pb2_grpc.ContactsServiceStub(identity_channel)
    metadata = service_keys.credentials("tickets", CONTACTS, workspace_id="ws-1")

    first, second = (stub.GetContact(contacts_pb2.GetContactRequest(), metadata=metadata, timeout=3) for _ in range(2))

    assert (first.workspace_id, first.owner_id, first.status) == ("ws-1", "system:tickets", "system")
    assert len(first.id) == 32 and len(second.id) == 32 and first.id != second.id


def _sample(rt: Runtime, name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(f"crm_{rt.spec.name}_{name}", labels) or 0.0


def test_each_call_is_counted_by_method_and_status_and_timed_by_method(
    channel: grpc.Channel, rt: Runtime, workspace_id: str
) -> None:
    method = f"/{CONTACTS}/GetContact"
    stub = contacts_pb2_grpc.ContactsServiceStub(channel)
    contact = contacts.create(rt.database.unit_of_work(), workspace_id=workspace_id, name="Ada", email=None, phone=None)
    before = {code: _sample(rt, "grpc_requests_total", method=method, code=code) for code in ("OK", "NOT_FOUND")}
    timed_before = _sample(rt, "grpc_request_duration_seconds_count", method=method)
    metadata = service_keys.credentials("tickets", CONTACTS, workspace_id=workspace_id)

    for _ in range(2):
        stub.GetContact(contacts_pb2.GetContactRequest(contact_id=contact.id), metadata=metadata, timeout=3)
    with pytest.raises(grpc.RpcError):
        stub.GetContact(contacts_pb2.GetContactRequest(contact_id=new_id()), metadata=metadata, timeout=3)

    assert _sample(rt, "grpc_requests_total", method=method, code="OK") - before["OK"] == 2
    assert _sample(rt, "grpc_requests_total", method=method, code="NOT_FOUND") - before["NOT_FOUND"] == 1
    assert _sample(rt, "grpc_request_duration_seconds_count", method=method) - timed_before == 3
