"""The walking skeleton through all five services, in both run modes, through HTTP; and their gRPC ports
refuse callers without credentials."""

from __future__ import annotations

import shlex
import subprocess
import sys

import requests

from tests.e2e.conftest import AllInOneProcess, token_for, workspace_in_stack
from tests.e2e.flow import Client, walk_skeleton


def test_the_curl_example_printed_by_crm_run_works_as_printed(allinone: AllInOneProcess) -> None:
    post = next(line.strip() for line in allinone.banner.splitlines() if line.strip().startswith("curl -s -X POST"))
    created = subprocess.run(shlex.split(post), capture_output=True, text=True, check=True)
    assert '"email": "ana@example.com"' in created.stdout and '"phone": "+34612345678"' in created.stdout


def test_all_in_one_mode_runs_the_whole_flow_and_isolates_workspaces(allinone: AllInOneProcess) -> None:
    other = subprocess.run(
        [sys.executable, "-m", "crm_platform.cli", "workspace", "create", "Other Co"],
        env={
            "CONTACTS_DATABASE_URL": f"sqlite:///{allinone.var}/contacts.db",
            "CRM_LOCAL_BUS_URL": f"sqlite:///{allinone.var}/bus.db",
            "CRM_JWT_SECRET": "unused-here",
            "PATH": "/usr/bin:/bin",
        },
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    stranger_token = subprocess.run(
        [
            sys.executable,
            "-m",
            "crm_platform.cli",
            "token",
            "--workspace",
            other,
            "--user",
            "u2",
            "--role",
            "agent",
            "--var",
            str(allinone.var),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    me = Client(allinone.url, allinone.admin_token())
    walk_skeleton(me, Client(allinone.url, stranger_token), allinone.var / "mail")


def test_all_in_one_serves_one_openapi_document_for_the_platform(allinone: AllInOneProcess) -> None:
    doc = requests.get(allinone.url + "/v1/openapi.json", timeout=10).json()
    assert doc["openapi"].startswith("3.1")
    for path in (
        "/v1/contacts",
        "/v1/tickets/{ticket_id}/comments",
        "/v1/conversations",
        "/v1/reports/summary",
        "/v1/mailer/messages",
    ):
        assert path in doc["paths"], sorted(doc["paths"])


def test_microservices_mode_runs_the_whole_flow_and_isolates_workspaces(stack) -> None:  # type: ignore[no-untyped-def]
    me = Client(stack.url, token_for(stack, workspace_in_stack(stack, "Acme")))
    stranger = Client(stack.url, token_for(stack, workspace_in_stack(stack, "Other Co"), role="agent"))
    walk_skeleton(me, stranger, stack.maildir)


def test_each_service_serves_its_openapi_document_and_metrics(stack) -> None:  # type: ignore[no-untyped-def]
    from crm_platform.devstack import ports

    for service in ("contacts", "tickets", "conversations", "mailer", "reports"):
        doc = requests.get(f"{stack.url}/v1/{service}/openapi.json", timeout=10).json()
        assert doc["openapi"].startswith("3.1") and all(p.startswith(f"/v1/{service}") for p in doc["paths"])
        http_metrics = requests.get(f"http://127.0.0.1:{ports(stack.config, service)['http']}/metrics", timeout=10).text
        assert f"crm_{service}_http_requests_total" in http_metrics
        worker_metrics = requests.get(
            f"http://127.0.0.1:{ports(stack.config, service)['worker_metrics']}/metrics", timeout=10
        ).text
        assert f"crm_{service}_outbox_lag_seconds" in worker_metrics


def _forged_calls_to(target: str, workspace_id: str) -> list[object]:
    """What a caller with no credential tried in issue 7: read a contact, create one, with identity metadata."""
    import grpc

    from crm.contacts.v1 import contacts_pb2, contacts_pb2_grpc

    forged = [("x-workspace-id", workspace_id), ("x-user-id", "admin-1"), ("x-user-role", "admin")]
    codes = []
    with grpc.insecure_channel(target) as channel:
        stub = contacts_pb2_grpc.ContactsServiceStub(channel)
        for call, request in (
            (stub.GetContact, contacts_pb2.GetContactRequest(contact_id="00000000-0000-7000-8000-000000000000")),
            (stub.FindOrCreateContactByEmail, contacts_pb2.FindOrCreateContactByEmailRequest(address="m@evil.test")),
        ):
            try:
                call(request, metadata=forged, timeout=10)
                codes.append(grpc.StatusCode.OK)
            except grpc.RpcError as error:
                codes.append(error.code())  # type: ignore[attr-defined]
    return codes


def test_all_in_one_grpc_refuses_calls_without_credentials(allinone: AllInOneProcess) -> None:
    import grpc

    codes = _forged_calls_to(f"127.0.0.1:{allinone.grpc_port}", allinone.workspace_id())

    assert codes == [grpc.StatusCode.UNAUTHENTICATED] * 2


def test_microservices_grpc_refuses_calls_without_credentials(stack) -> None:  # type: ignore[no-untyped-def]
    import grpc

    from crm_platform.devstack import ports

    codes = _forged_calls_to(f"127.0.0.1:{ports(stack.config, 'contacts')['grpc']}", workspace_in_stack(stack, "Acme"))

    assert codes == [grpc.StatusCode.UNAUTHENTICATED] * 2
