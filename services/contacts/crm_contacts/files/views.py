"""HTTP API of files (under /v1/contacts, which the gateway routes to this service).

Uploads are decoded from the request stream as they arrive (werkzeug's multipart decoder), so the file's
bytes go straight to the storage directory in chunks and never sit whole in memory or in a temp dir elsewhere.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from flask import Response, request, send_file
from flask_openapi3 import APIBlueprint, Tag
from pydantic import BaseModel, Field
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.sansio.multipart import Data, Epilogue, Event, File, MultipartDecoder, NeedData

from crm_contacts.files import represent, service
from crm_contacts.files.storage import Storage
from crm_contacts.settings import DEFAULT_MAX_FILE_BYTES, MAX_FILE_BYTES, ContactsSettings
from crm_platform import paging
from crm_platform.errors import FieldError, InvalidInput
from crm_platform.limits import body_limit
from crm_platform.paging import PageQuery
from crm_platform.web import SECURITY, caller, json_response, runtime

api = APIBlueprint(
    "contacts_files", __name__, url_prefix="/v1/contacts", abp_tags=[Tag(name="files")], abp_security=SECURITY
)

FIELD = "file"
CHUNK_BYTES = 64 * 1024
# Room for the multipart boundaries and part headers around the file's bytes, for the early Content-Length cut.
MULTIPART_OVERHEAD = 64 * 1024
MAX_PARTS = 20

UPLOAD_BODY = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": [FIELD],
                "properties": {
                    FIELD: {
                        "type": "string",
                        "format": "binary",
                        "description": "the file; executables (by content) are refused with 422, "
                        f"files over {MAX_FILE_BYTES} bytes with 413",
                    }
                },
            }
        }
    },
}
DOWNLOAD = {
    "description": "the file's bytes, as an attachment with its original name and its stored content type",
    "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}},
}


class FileOut(BaseModel):
    id: str
    contact_id: str
    filename: str
    content_type: str
    size: int
    sha256: str
    uploaded_by: str
    created_at: str


class FilePage(BaseModel):
    items: list[FileOut]
    next_cursor: str | None


class ContactPath(BaseModel):
    contact_id: str = Field(max_length=64)


class FilePath(BaseModel):
    contact_id: str = Field(max_length=64)
    file_id: str = Field(max_length=64)


@dataclass
class Upload:
    filename: str
    content_type: str | None
    chunks: Iterator[bytes]


def _settings() -> ContactsSettings:
    settings: ContactsSettings = runtime().service_settings
    return settings


def _storage() -> Storage:
    return Storage.from_settings(_settings())


@api.post(
    "/<contact_id>/files",
    responses={201: FileOut},
    summary="Attach a file to a contact (multipart field `file`, streamed; executables refused by content)",
    openapi_extensions={"requestBody": UPLOAD_BODY},
)
@body_limit(MAX_FILE_BYTES, DEFAULT_MAX_FILE_BYTES, envelope=MULTIPART_OVERHEAD)
def upload_file(path: ContactPath):  # type: ignore[no-untyped-def]
    max_bytes = _settings().max_file_bytes
    # An announced oversized upload never gets here (crm_platform.limits); one without a length is cut while read.
    try:
        upload = _upload()
        stored = service.add(
            runtime().database.unit_of_work(),
            _storage(),
            caller=caller(),
            contact_id=path.contact_id,
            filename=upload.filename,
            declared_type=upload.content_type,
            chunks=upload.chunks,
            max_bytes=max_bytes,
        )
    except RequestEntityTooLarge:
        raise service.too_large(max_bytes) from None
    return json_response(
        represent.as_dict(stored), 201, {"Location": f"/v1/contacts/{path.contact_id}/files/{stored.id}"}
    )


@api.get("/<contact_id>/files", responses={200: FilePage}, summary="List a contact's files, newest first")
def list_files(path: ContactPath, query: PageQuery):  # type: ignore[no-untyped-def]
    files = service.list_page(
        runtime().database.unit_of_work(),
        caller=caller(),
        contact_id=path.contact_id,
        limit=query.limit,
        after_id=paging.after_id(query.cursor),
    )
    return json_response(paging.cut(files, query.limit, key=lambda row: row.id).body(represent.as_dict))


@api.get(
    "/<contact_id>/files/<file_id>",
    responses={200: DOWNLOAD},
    summary="Download a file (streamed, as an attachment with its original name)",
)
def download_file(path: FilePath):  # type: ignore[no-untyped-def]
    stored, location = service.get(
        runtime().database.unit_of_work(), _storage(), caller=caller(), contact_id=path.contact_id, file_id=path.file_id
    )
    response = send_file(
        location,
        mimetype=stored.content_type,
        as_attachment=True,
        download_name=stored.filename,
        etag=stored.sha256,
        conditional=True,
        max_age=0,
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


@api.delete(
    "/<contact_id>/files/<file_id>", responses={204: None}, summary="Delete a file and its bytes (uploader or admin)"
)
def delete_file(path: FilePath):  # type: ignore[no-untyped-def]
    service.delete(
        runtime().database.unit_of_work(), _storage(), caller=caller(), contact_id=path.contact_id, file_id=path.file_id
    )
    return Response(status=204)


def _upload() -> Upload:
    """The request's multipart part named ``file``, its bytes to be read as they arrive."""
    boundary = request.mimetype_params.get("boundary")
    if request.mimetype != "multipart/form-data" or not boundary:
        raise _missing("send multipart/form-data with the file in a part named file")
    decoder = MultipartDecoder(boundary.encode("latin-1"), max_form_memory_size=4 * CHUNK_BYTES, max_parts=MAX_PARTS)
    events = _events(decoder)
    for event in events:
        if isinstance(event, File) and event.name == FIELD:
            if not event.filename:
                raise _missing("no file was chosen")
            return Upload(event.filename, event.headers.get("Content-Type"), _part_data(events))
    raise _missing("the form has no file part named file")


def _events(decoder: MultipartDecoder) -> Iterator[Event]:
    stream = request.stream
    while True:
        chunk = stream.read(CHUNK_BYTES)
        decoder.receive_data(chunk or None)
        while True:
            try:
                event = decoder.next_event()
            except ValueError:
                raise InvalidInput(
                    "the multipart body is malformed", errors=[FieldError(FIELD, "malformed multipart body", "invalid")]
                ) from None
            if isinstance(event, Epilogue):
                return
            if isinstance(event, NeedData):
                break
            yield event
        if not chunk:
            raise InvalidInput(
                "the multipart body ends early", errors=[FieldError(FIELD, "the body ends inside a part", "invalid")]
            )


def _part_data(events: Iterator[Event]) -> Iterator[bytes]:
    """The bytes of the part just started, chunk by chunk, until its end."""
    for event in events:
        if not isinstance(event, Data):
            return
        if event.data:
            yield event.data
        if not event.more_data:
            return


def _missing(message: str) -> InvalidInput:
    return InvalidInput("a file is required", errors=[FieldError(FIELD, message, "required")])
