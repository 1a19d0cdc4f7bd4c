"""Files on a contact over HTTP: streamed upload and byte-identical download, the size limit, executables by content."""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path
from typing import Any

import pytest

from tests.integration.contacts.support.activity_world import MAX_FILE_BYTES, World
from tests.support.stack import problem_fields

PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
ELF = bytes.fromhex("7f454c46020101000000000000000000") + bytes.fromhex("03003e0001000000") + b"\0" * 40
PE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\xb8" + b"\0" * 43 + b"\x80\0\0\0"
MACH_O = bytes.fromhex("cffaedfe0700000103000000") + b"\0" * 20
SCRIPT = b"#!/bin/sh\nrm -rf ~\n"


def upload(
    world: World, contact_id: str, content: bytes, name: str, *, content_type: str | None = None, as_: str | None = None
) -> Any:
    part = (io.BytesIO(content), name, content_type) if content_type else (io.BytesIO(content), name)
    return world.api.client.post(
        f"/v1/contacts/{contact_id}/files",
        data={"file": part},
        content_type="multipart/form-data",
        headers=world.headers(as_),
    )


def stored_files(world: World) -> list[Path]:
    """Every file (temporary ones included) in the workspace's part of the storage directory."""
    folder = Path(world.api.rt.settings.extra["CONTACTS_STORAGE_DIR"]) / world.workspace_id
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def test_an_upload_downloads_byte_identical_with_its_name_and_type(world: World) -> None:
    contact = world.contact()
    content = PDF + os.urandom(200_000)  # several chunks of the request stream

    answer = upload(world, contact, content, "Presupuesto año 2030.pdf", content_type="application/pdf")

    assert answer.status_code == 201, answer.get_json()
    stored = answer.get_json()
    assert (stored["filename"], stored["content_type"], stored["size"]) == (
        "Presupuesto año 2030.pdf",
        "application/pdf",
        len(content),
    )
    assert stored["sha256"] == hashlib.sha256(content).hexdigest()
    download = world.get(f"/v1/contacts/{contact}/files/{stored['id']}")
    assert download.status_code == 200
    assert download.data == content
    assert download.mimetype == "application/pdf"
    disposition = download.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert "filename*=UTF-8''Presupuesto%20a%C3%B1o%202030.pdf" in disposition
    listed = world.get(f"/v1/contacts/{contact}/files").get_json()
    assert listed == {"items": [stored], "next_cursor": None}
    assert [p.name for p in stored_files(world)] == [stored["id"]]  # the key is the file id, not the name


def test_a_file_over_the_limit_is_refused_with_413_on_file_and_leaves_nothing(world: World) -> None:
    contact = world.contact()

    just_over = upload(world, contact, PDF + b"x" * (MAX_FILE_BYTES + 1 - len(PDF)), "big.pdf")
    far_over = upload(world, contact, PDF + b"x" * (MAX_FILE_BYTES * 2), "huge.pdf")
    at_limit = upload(world, contact, PDF + b"x" * (MAX_FILE_BYTES - len(PDF)), "fits.pdf")

    for refused in (just_over, far_over):
        assert refused.status_code == 413
        assert refused.mimetype == "application/problem+json"
        assert problem_fields(refused.get_json()) == {"file": "too_large"}
        assert refused.get_json()["max_bytes"] == MAX_FILE_BYTES
    assert at_limit.status_code == 201
    assert [f["filename"] for f in world.get(f"/v1/contacts/{contact}/files").get_json()["items"]] == ["fits.pdf"]
    assert [p.name for p in stored_files(world)] == [at_limit.get_json()["id"]]


@pytest.mark.parametrize(
    ("content", "name"),
    [
        (ELF, "report.pdf"),
        (ELF, "program"),
        (PE, "invoice.pdf"),
        (PE, "setup.exe"),
        (MACH_O, "photo.jpg"),
        (SCRIPT, "notes.txt"),
    ],
)
def test_executables_are_refused_by_content_whatever_their_name(world: World, content: bytes, name: str) -> None:
    contact = world.contact()

    answer = upload(world, contact, content + os.urandom(100_000), name, content_type="application/pdf")

    assert answer.status_code == 422
    assert problem_fields(answer.get_json()) == {"file": "executable"}
    assert world.get(f"/v1/contacts/{contact}/files").get_json()["items"] == []
    assert stored_files(world) == []


def test_a_real_pdf_named_exe_is_accepted(world: World) -> None:
    contact = world.contact()

    answer = upload(world, contact, PDF, "manual.exe")

    assert answer.status_code == 201
    assert answer.get_json()["filename"] == "manual.exe"


def test_deleting_a_file_removes_its_row_and_its_bytes_and_both_are_in_the_history(world: World) -> None:
    contact = world.contact()
    stored = upload(world, contact, PDF, "contract.pdf", as_=world.agent).get_json()
    url = f"/v1/contacts/{contact}/files/{stored['id']}"

    by_other_agent = world.delete(url, as_=world.other_agent)
    by_uploader = world.delete(url, as_=world.agent)

    assert by_other_agent.status_code == 403
    assert by_uploader.status_code == 204
    assert world.get(url).status_code == 404
    assert world.get(f"/v1/contacts/{contact}/files").get_json()["items"] == []
    assert stored_files(world) == []
    timeline = world.get(f"/v1/contacts/{contact}/history?kind=file_added,file_deleted").get_json()["items"]
    assert [(e["kind"], e["data"]["file_id"], e["actor_id"]) for e in timeline] == [
        ("file_deleted", stored["id"], world.agent),
        ("file_added", stored["id"], world.agent),
    ]


def test_a_hostile_file_name_is_sanitised_and_does_not_choose_where_bytes_land(world: World) -> None:
    contact = world.contact()

    answer = upload(world, contact, b"hello", "../../../etc/cron.d/..\\evil\tjob; x=1.txt")

    assert answer.status_code == 201
    stored = answer.get_json()
    assert stored["filename"] == "evil job; x=1.txt"
    assert stored["content_type"] == "text/plain"
    download = world.get(f"/v1/contacts/{contact}/files/{stored['id']}")
    assert download.headers["Content-Disposition"] == 'attachment; filename="evil job; x=1.txt"'
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert [p.name for p in stored_files(world)] == [stored["id"]]


def test_an_upload_without_a_file_part_is_a_problem_on_file(world: World) -> None:
    contact = world.contact()

    no_part = world.api.client.post(
        f"/v1/contacts/{contact}/files",
        data={"other": "x"},
        content_type="multipart/form-data",
        headers=world.headers(),
    )
    not_multipart = world.post(f"/v1/contacts/{contact}/files", {"file": "x"})

    for answer in (no_part, not_multipart):
        assert answer.status_code == 422
        assert problem_fields(answer.get_json()) == {"file": "required"}
