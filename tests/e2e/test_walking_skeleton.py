"""The walking skeleton through all five services, in both run modes, through HTTP; and their gRPC ports
refuse callers without credentials."""

from __future__ import annotations

import shlex
import subprocess
import sys
from typing import Any

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
    from crm_devtools.devstack import ports

    for service in ("contacts", "tickets", "conversations", "mailer", "reports"):
        doc = requests.get(f"{stack.url}/v1/{service}/openapi.json", timeout=10).json()
        assert doc["openapi"].startswith("3.1") and all(p.startswith(f"/v1/{service}") for p in doc["paths"])
        http_metrics = requests.get(f"http://127.0.0.1:{ports(stack.config, service)['http']}/metrics", timeout=10).text
        assert f"crm_{service}_http_requests_total" in http_metrics
        grpc_metrics = requests.get(
            f"http://127.0.0.1:{ports(stack.config, service)['grpc_metrics']}/metrics", timeout=10
        ).text
        worker_metrics = requests.get(
            f"http://127.0.0.1:{ports(stack.config, service)['worker_metrics']}/metrics", timeout=10
        ).text
        # Read from the outbox table, so every process reports it, even with the worker down.
        for exported in (http_metrics, grpc_metrics, worker_metrics):
            assert f"crm_{service}_outbox_lag_seconds " in exported


# front doors: unknown paths, the merged document, /docs, the workspace of a token -----------------
UNKNOWN_PATHS = ("/", "/v1/nope", "/v1/contacts/nope/deeper/still", "/v1/tickets/x/y/z")


def assert_problem(response: requests.Response, status: int) -> dict[str, Any]:
    assert (response.status_code, response.headers["Content-Type"]) == (status, "application/problem+json"), (
        response.status_code,
        response.text[:300],
    )
    body = response.json()
    assert body["status"] == status and body["type"].startswith("urn:crm:problem:")
    return body


def assert_docs_served_from_the_package(base_url: str) -> None:
    page = requests.get(base_url + "/docs", timeout=10)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert "/v1/openapi.json" in page.text and "https://" not in page.text and "http://" not in page.text
    for asset, kind in (("swagger-ui-bundle.js", "javascript"), ("swagger-ui.css", "text/css")):
        served = requests.get(f"{base_url}/docs/{asset}", timeout=10)
        assert served.status_code == 200 and kind in served.headers["Content-Type"] and len(served.content) > 10_000


def test_all_in_one_answers_unknown_paths_with_a_problem(allinone: AllInOneProcess) -> None:
    token = {"Authorization": f"Bearer {allinone.admin_token()}"}
    for path in UNKNOWN_PATHS:
        assert_problem(requests.get(allinone.url + path, headers=token, timeout=10), 404)


def test_all_in_one_serves_a_browsable_api_reference_at_docs(allinone: AllInOneProcess) -> None:
    assert_docs_served_from_the_package(allinone.url)


def test_the_merged_document_keeps_each_services_schemas_apart(allinone: AllInOneProcess) -> None:
    doc = requests.get(allinone.url + "/v1/openapi.json", timeout=10).json()
    schemas = doc["components"]["schemas"]
    comment_in = doc["paths"]["/v1/tickets/{ticket_id}/comments"]["post"]["requestBody"]["content"]["application/json"]

    assert comment_in["schema"]["$ref"] == "#/components/schemas/tickets.CommentIn"
    assert "public" in schemas["tickets.CommentIn"]["required"]
    assert "contacts.CommentIn" in schemas and "public" not in schemas["contacts.CommentIn"].get("properties", {})
    assert {"mailer.MessageOut", "conversations.MessageOut"} <= set(schemas)
    assert "ValidationErrorModel" not in str(doc)


def test_the_gateway_serves_probes_metrics_the_merged_document_docs_and_problems(stack) -> None:  # type: ignore[no-untyped-def]
    assert requests.get(stack.url + "/healthz", timeout=10).json() == {"status": "ok"}
    assert "process_cpu_seconds_total" in requests.get(stack.url + "/metrics", timeout=10).text
    doc = requests.get(stack.url + "/v1/openapi.json", timeout=10).json()
    assert "/v1/contacts" in doc["paths"] and "tickets.CommentIn" in doc["components"]["schemas"]
    assert_docs_served_from_the_package(stack.url)
    token = {"Authorization": f"Bearer {token_for(stack, workspace_in_stack(stack, 'Gateway Co'))}"}
    for path in UNKNOWN_PATHS:
        assert_problem(requests.get(stack.url + path, headers=token, timeout=10), 404)


def test_a_token_for_a_workspace_that_does_not_exist_gets_401_from_every_service(stack) -> None:  # type: ignore[no-untyped-def]
    token = {"Authorization": f"Bearer {token_for(stack, '01900000-0000-7000-8000-00000000dead')}"}
    for method, path, body in (
        ("POST", "/v1/contacts/types", {"name": "Partner"}),
        ("POST", "/v1/contacts/sources", {"name_es": "Feria", "name_en": "Fair"}),
        ("POST", "/v1/contacts/members", {"name": "Ana", "email": "ana@example.com", "role": "agent"}),
        ("GET", "/v1/tickets", None),
        ("GET", "/v1/conversations", None),
        ("GET", "/v1/mailer/messages", None),
        ("GET", "/v1/reports/summary", None),
    ):
        body_of = assert_problem(requests.request(method, stack.url + path, json=body, headers=token, timeout=10), 401)
        assert "does not exist" in body_of["detail"]


# bad input that used to answer 500, in all-in-one mode (SQLite) --------------------------------------
def test_all_in_one_refuses_bad_input_that_used_to_crash(allinone: AllInOneProcess) -> None:
    token = {"Authorization": f"Bearer {allinone.admin_token()}"}
    url = allinone.url + "/v1/contacts"
    source = requests.post(url + "/sources", json={"name_es": "Feria", "name_en": "Fair"}, headers=token, timeout=10)

    for response, field in (
        (requests.get(url, params={"name": "a" * 60_000}, headers=token, timeout=10), "query.name"),
        (
            requests.post(url, data="[" * 1000 + "]" * 1000, headers={**token, "Content-Type": "application/json"}),
            "body",
        ),
        (
            requests.put(f"{url}/sources/{source.json()['id']}/icon", files={"icon": (None, "plain")}, headers=token),
            "icon",
        ),
        (requests.post(url + "/imports", files={"file": (None, "name\nAna")}, headers=token, timeout=10), "file"),
    ):
        assert [e["field"] for e in assert_problem(response, 422)["errors"]] == [field]


def test_a_patch_with_two_primary_emails_is_refused(allinone: AllInOneProcess) -> None:
    token = {"Authorization": f"Bearer {allinone.admin_token()}"}
    url = allinone.url + "/v1/contacts"
    ana = requests.post(url, json={"name": "Ana Primaria", "email": "primaria@example.com"}, headers=token, timeout=10)
    assert ana.status_code == 201, ana.text
    emails = [{"address": "p1@example.com", "primary": True}, {"address": "p2@example.com", "primary": True}]

    refused = requests.patch(f"{url}/{ana.json()['id']}", json={"emails": emails}, headers=token, timeout=10)

    assert [(e["field"], e["code"]) for e in assert_problem(refused, 422)["errors"]] == [
        ("emails", "several_primaries")
    ]
    kept = requests.get(f"{url}/{ana.json()['id']}", headers=token, timeout=10).json()
    assert kept["email"] == "primaria@example.com"


def test_the_csv_export_neutralises_cells_a_spreadsheet_would_run_as_formulas(allinone: AllInOneProcess) -> None:
    import csv
    import io

    token = {"Authorization": f"Bearer {allinone.admin_token()}"}
    url = allinone.url + "/v1/contacts"
    names = ["=HYPERLINK(1)", "+SUM(A1)", "-2+3", "@cmd", "Plain Formula"]  # names lose leading tabs and CRs
    for name in names:
        assert requests.post(url, json={"name": name + " Z"}, headers=token, timeout=10).status_code == 201

    exported = requests.get(url + "/export.csv", params={"fields": "name,phone"}, headers=token, timeout=30)

    rows = list(csv.DictReader(io.StringIO(exported.text)))
    written = {row["name"] for row in rows}
    assert {"'" + name + " Z" for name in names[:-1]} | {"Plain Formula Z"} <= written


def test_a_token_for_a_workspace_that_does_not_exist_gets_401_in_all_in_one(allinone: AllInOneProcess) -> None:
    from crm_platform import auth

    secret = (allinone.var / "jwt-secret").read_text().strip()
    ghost = auth.mint(secret=secret, production=False, workspace_id="ghost-workspace", user_id="u", role="admin")
    headers = {"Authorization": f"Bearer {ghost}"}
    for path, body in (
        ("/types", {"name": "Partner"}),
        ("/sources", {"name_es": "Feria", "name_en": "Fair"}),
        ("/members", {"name": "Ana", "email": "ana@example.com", "role": "agent"}),
    ):
        response = requests.post(allinone.url + "/v1/contacts" + path, json=body, headers=headers, timeout=10)
        assert "does not exist" in assert_problem(response, 401)["detail"]
    assert_problem(requests.get(allinone.url + "/v1/tickets", headers=headers, timeout=10), 401)


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
    from crm_devtools.devstack import ports

    codes = _forged_calls_to(f"127.0.0.1:{ports(stack.config, 'contacts')['grpc']}", workspace_in_stack(stack, "Acme"))

    assert codes == [grpc.StatusCode.UNAUTHENTICATED] * 2
