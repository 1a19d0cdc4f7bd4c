"""CSV export (streamed, the list's filters) and import (a job: dry run, per-row errors, duplicate policy)."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from crm.events.v1 import contacts_pb2
from crm_contacts.bulk import exports
from crm_platform.events import payload_of
from tests.integration.contacts.support.lists import Tenant


def upload(acme: Tenant, text: str, query: str = "", headers: dict[str, str] | None = None) -> Any:
    return acme.api.client.post(
        f"/v1/contacts/imports{query}",
        data={"file": (io.BytesIO(text.encode()), "contacts.csv")},
        content_type="multipart/form-data",
        headers=headers or acme.auth(),
    )


def imported(acme: Tenant, text: str, query: str = "") -> dict[str, Any]:
    answer = upload(acme, text, query)
    assert answer.status_code == 202, answer.get_json()
    acme.run_jobs()
    return acme.get(answer.headers["Location"]).get_json()


def test_export_writes_the_filtered_contacts_with_every_column(acme_to_read: Tenant) -> None:
    acme = acme_to_read
    answer = acme.get("/v1/contacts/export.csv?tag=vip")

    assert answer.status_code == 200
    assert answer.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(answer.get_data(as_text=True))))
    assert [r["name"] for r in rows] == ["Ana Ruiz", "Álvaro Núñez"]  # id order: oldest first
    alvaro = rows[1]
    assert list(alvaro)[:14] == list(exports.csvio.EXPORT_COLUMNS)
    assert (alvaro["email"], alvaro["emails"], alvaro["phones"]) == (
        "alvaro@example.com",
        "alvaro@example.com;al@work.com",
        "+34611111111",
    )
    assert (alvaro["type"], alvaro["stage"], alvaro["status"], alvaro["owner"], alvaro["source"]) == (
        "contact",
        "Contact",
        "won",
        "marta@acme.com",
        "web",
    )
    assert (alvaro["tags"], alvaro["stars"], alvaro["cf.budget"], alvaro["cf.zone"]) == (
        "vip",
        "1",
        "150000",
        "norte;centro",
    )


def test_export_chooses_columns_and_refuses_unknown_ones(acme_to_read: Tenant) -> None:
    acme = acme_to_read
    text = acme.get("/v1/contacts/export.csv?fields=name,cf.budget&name=bea").get_data(as_text=True)

    assert text == "name,cf.budget\r\nBea de la Ruiz,100000\r\n"
    assert acme.get("/v1/contacts/export.csv?fields=name,salary").status_code == 422
    assert acme.get("/v1/contacts/export.csv?stars=9").get_json()["errors"][0]["field"] == "stars"


def test_export_is_streamed_in_batches(acme: Tenant, monkeypatch: Any) -> None:
    monkeypatch.setattr(exports, "BATCH_SIZE", 50)
    lines = ["name,email"] + [f"Person {n:03},p{n}@example.com" for n in range(120)]
    assert imported(acme, "\n".join(lines))["succeeded"] == 120

    answer = acme.get("/v1/contacts/export.csv?fields=name", buffered=False)

    assert answer.is_streamed
    chunks = list(answer.response)
    assert len(chunks) == 1 + 3  # the header, then 50 + 50 + 24 rows
    assert sum(chunk.count(b"\n") for chunk in chunks) == 1 + 124


def test_a_dry_run_reports_what_would_happen_and_writes_nothing(acme: Tenant) -> None:
    text = "name,email,phone,tags,stars\nEva Sol,eva@example.com,622 000 111,Nuevo;vip,2\nFede,fede@example.com,,,\n"

    job = imported(acme, text, "?dry_run=true")

    assert (job["state"], job["dry_run"], job["total"], job["processed"], job["succeeded"]) == ("done", True, 2, 2, 2)
    assert job["result"] == {"would_create": 2, "dry_run": True}
    assert acme.names(acme.get("/v1/contacts?name=eva")) == []
    assert len(acme.api.outbox("contacts.contact.created")) == 4  # only the fixture's


def test_an_import_creates_contacts_like_single_creates_with_their_events(acme: Tenant) -> None:
    text = (
        "Nombre,Correo,Tel,Etapa,Responsable,Presupuesto,Ciudad\n"
        "Eva Sol,Eva@Example.com,622 000 111,Prospect,marta@acme.com,250000,Bilbao\n"
    )
    mapping = {
        "Nombre": "name",
        "Correo": "email",
        "Tel": "phone",
        "Etapa": "stage",
        "Responsable": "owner",
        "Presupuesto": "cf.budget",
        "Ciudad": "location.city",
    }

    job = imported(acme, text, f"?mapping={json.dumps(mapping)}")

    assert (job["state"], job["succeeded"], job["failed"], job["result"]["created"]) == ("done", 1, 0, 1)
    [eva] = acme.get("/v1/contacts?email=eva@example.com").get_json()["items"]
    assert (eva["name"], eva["phone"], eva["owner_id"], eva["stage_id"]) == (
        "Eva Sol",
        "+34622000111",
        acme.agent,
        acme.stages[("contact", "Prospect")],
    )
    assert (eva["custom_fields"], eva["location"]) == ({"budget": 250000}, {"city": "Bilbao"})
    created = [payload_of(e, contacts_pb2.ContactCreated) for e in acme.api.outbox("contacts.contact.created")]
    [event] = [c for c in created if c.contact_id == eva["id"]]
    assert (event.email, event.contact.owner_id, event.contact.type) == ("eva@example.com", acme.agent, "contact")


def test_row_errors_name_the_row_as_in_the_file_and_the_field(acme: Tenant) -> None:
    text = (
        "name,email,phone,stage,stars\n"
        "Good One,good@example.com,,,\n"
        "\n"
        ",nobody@example.com,,,\n"
        "Bad Mail,not-an-email,12,,\n"
        "Bad Stage,,,Heaven,7\n"
    )

    job = imported(acme, text)

    assert (job["total"], job["processed"], job["succeeded"], job["failed"]) == (4, 4, 1, 3)
    assert sorted((e["row"], e["field"]) for e in job["errors"]) == [
        (4, "name"),
        (5, "email"),
        (5, "phone"),
        (6, "stage"),
        (6, "stars"),
    ]


def test_with_duplicates_off_rows_reusing_an_email_or_phone_are_refused(acme: Tenant) -> None:
    text = (
        "name,email,phone\n"
        "Copy of Ana,ANA@example.com,\n"
        "New Person,new@example.com,633 111 222\n"
        "Same Phone,other@example.com,633111222\n"
    )

    job = imported(acme, text)

    assert (job["succeeded"], job["failed"]) == (1, 2)
    by_row = {e["row"]: e for e in job["errors"]}
    assert "in use by: Ana Ruiz" in by_row[2]["message"] and "Responsible: Luis" in by_row[2]["message"]
    assert (by_row[4]["field"], by_row[4]["message"]) == ("phone", "Phone +34633111222 is already in row 3")


def test_with_duplicates_on_the_same_rows_are_imported(acme: Tenant) -> None:
    acme.settings(allow_duplicates=True)

    job = imported(acme, "name,email\nCopy of Ana,ana@example.com\nTwin,ana@example.com\n")

    assert (job["succeeded"], job["failed"]) == (2, 0)
    assert len(acme.get("/v1/contacts?email=ana@example.com").get_json()["items"]) == 3


def test_a_file_whose_columns_cannot_be_imported_is_refused_at_once(acme: Tenant) -> None:
    unknown = upload(acme, "name,salary\nEva,1\n")
    no_name = upload(acme, "email\neva@example.com\n")
    bad_mapping = upload(acme, "a,b\n1,2\n", "?mapping=[1]")

    assert [a.status_code for a in (unknown, no_name, bad_mapping)] == [422, 422, 422]
    assert "salary" in unknown.get_json()["errors"][0]["message"]
    assert bad_mapping.get_json()["errors"][0]["field"] == "mapping"


def test_an_export_can_be_imported_back(acme: Tenant) -> None:
    text = acme.get("/v1/contacts/export.csv?name=carlos").get_data(as_text=True)
    acme.settings(allow_duplicates=True)

    job = imported(acme, text)

    assert (job["succeeded"], job["failed"]) == (1, 0), job["errors"]
    assert len(acme.get("/v1/contacts?name=carlos").get_json()["items"]) == 2


def _created_and_entry(acme: Tenant, contact_id: str) -> tuple[contacts_pb2.ContactSnapshot, dict[str, Any]]:
    created = [payload_of(e, contacts_pb2.ContactCreated) for e in acme.api.outbox("contacts.contact.created")]
    [event] = [c for c in created if c.contact_id == contact_id]
    entries = acme.get(f"/v1/contacts/{contact_id}/history").get_json()["items"]
    [entry] = [e for e in entries if e["kind"] == "created"]
    snapshot = event.contact
    snapshot.id = ""
    return snapshot, entry["data"]


def test_an_imported_contact_is_written_and_announced_exactly_as_the_api_creates_it(acme: Tenant) -> None:
    acme.settings(allow_duplicates=True)
    fields = {
        "emails": ["eva@example.com", "eva@work.com"],
        "phones": ["+34622000111"],
        "tags": ["vip", "nuevo"],
        "stars": 2,
        "color": "#112233",
        "language": "es",
        "owner_id": acme.agent,
        "stage_id": acme.stages[("contact", "Prospect")],
        "source_id": acme.sources["web"],
        "custom_fields": {"budget": 250000, "zone": ["norte"]},
        "location": {"city": "Bilbao"},
    }
    by_api = acme.contact("Eva Sol", **fields)
    text = (
        "name,emails,phones,tags,stars,color,language,owner,stage,source,cf.budget,cf.zone,location.city\n"
        "Eva Sol,eva@example.com;eva@work.com,622 000 111,vip;nuevo,2,#112233,es,marta@acme.com,Prospect,web,"
        "250000,norte,Bilbao\n"
    )

    job = imported(acme, text)

    assert (job["succeeded"], job["failed"]) == (1, 0), job["errors"]
    [by_import] = [c["id"] for c in acme.get("/v1/contacts?name=eva").get_json()["items"] if c["id"] != by_api]
    api_contact, imported_contact = (acme.get(f"/v1/contacts/{i}").get_json() for i in (by_api, by_import))
    for answer in (api_contact, imported_contact):
        for volatile in ("id", "created_at", "updated_at", "etag"):
            answer.pop(volatile, None)
    assert imported_contact == api_contact
    api_snapshot, api_entry = _created_and_entry(acme, by_api)
    import_snapshot, import_entry = _created_and_entry(acme, by_import)
    assert import_snapshot == api_snapshot
    assert import_entry == {**api_entry, "via": "import"}


def test_a_row_duplicating_a_contact_is_refused_with_the_apis_409_words(acme: Tenant) -> None:
    refused = acme.post("/v1/contacts", json={"name": "Copy of Ana", "email": "ana@example.com"})
    assert refused.status_code == 409

    job = imported(acme, "name,email\nCopy of Ana,ana@example.com\n")

    assert (job["succeeded"], job["failed"]) == (0, 1)
    [error] = job["errors"]
    assert error["field"] == "email"
    assert refused.get_json()["detail"] in error["message"]
