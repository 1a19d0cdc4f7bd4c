"""HTTP API of work on many contacts: bulk actions, jobs, recent colors, CSV export and import (under /v1/contacts)."""

from __future__ import annotations

import json
from typing import Any

from flask import Response, request, stream_with_context
from flask_openapi3 import APIBlueprint, Tag
from pydantic import BaseModel, ConfigDict, Field

from crm_contacts.bulk import exports, service
from crm_contacts.bulk.rules import ACTIONS, MAX_IDS
from crm_contacts.filters import rules as filter_rules
from crm_contacts.filters.views import ContactListQuery
from crm_contacts.settings import DEFAULT_MAX_IMPORT_BYTES, MAX_IMPORT_BYTES, ContactsSettings
from crm_platform.errors import FieldError, InvalidInput
from crm_platform.ids import new_id
from crm_platform.inputs import UploadedFile
from crm_platform.limits import body_limit
from crm_platform.openapi import QueryModel
from crm_platform.web import SECURITY, caller, idempotent, json_response, runtime

api = APIBlueprint(
    "contacts_bulk", __name__, url_prefix="/v1/contacts", abp_tags=[Tag(name="bulk")], abp_security=SECURITY
)


class BulkIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ids: list[str] | None = Field(default=None, max_length=MAX_IDS, description="contacts to act on")
    filter: dict[str, str | int | float | bool] | None = Field(
        default=None, description="or: the list endpoint's filter parameters"
    )
    action: str = Field(description=", ".join(ACTIONS))
    value: Any = None


class JobOut(BaseModel):
    id: str
    kind: str
    state: str
    total: int | None
    processed: int
    succeeded: int
    failed: int
    errors: list[dict[str, Any]]
    result: dict[str, Any]
    created_at: str
    started_at: str | None
    finished_at: str | None


class JobPath(BaseModel):
    job_id: str = Field(max_length=64)


class ColorList(BaseModel):
    items: list[str]


class ImportForm(BaseModel):
    file: UploadedFile


class ImportQuery(QueryModel):
    model_config = ConfigDict(extra="forbid")
    dry_run: bool = False
    mapping: str | None = Field(default=None, description='JSON {"csv column": "field or null to skip"}')


@api.post("/bulk", responses={202: JobOut}, summary="Act on many contacts in the background")
@idempotent
def start_bulk(body: BulkIn):  # type: ignore[no-untyped-def]
    job = service.start_bulk_update(
        runtime().database.unit_of_work(),
        caller=caller(),
        action=body.action,
        value=body.value,
        ids=body.ids,
        filter=body.filter,
    )
    return json_response(job, 202, {"Location": f"/v1/contacts/jobs/{job['id']}"})


@api.get("/jobs/<job_id>", responses={200: JobOut}, summary="A job's progress and result")
def get_job(path: JobPath):  # type: ignore[no-untyped-def]
    return json_response(service.get_job(runtime().database.unit_of_work(), caller=caller(), job_id=path.job_id))


@api.get("/colors/recent", responses={200: ColorList}, summary="Card colors used last, most recent first")
def recent_colors():  # type: ignore[no-untyped-def]
    return json_response({"items": service.recent_colors(runtime().database.unit_of_work(), caller=caller())})


CSV = {
    "description": "one row per contact, a header row first",
    "content": {"text/csv": {"schema": {"type": "string"}}},
}


@api.get("/export.csv", responses={200: CSV}, summary="The contacts a filter chooses, as CSV (streamed)")
def export_csv(query: ContactListQuery):  # type: ignore[no-untyped-def]
    database = runtime().database
    plan = exports.plan(
        database.unit_of_work(), caller=caller(), params=filter_rules.flatten(request.args.items(multi=True))
    )
    return Response(
        stream_with_context(exports.stream(database, plan)),
        mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="contacts.csv"', "X-Accel-Buffering": "no"},
    )


@api.post("/imports", responses={202: JobOut}, summary="Import contacts from a CSV file in the background")
@body_limit(MAX_IMPORT_BYTES, DEFAULT_MAX_IMPORT_BYTES)
def start_import(form: ImportForm, query: ImportQuery):  # type: ignore[no-untyped-def]
    rt = runtime()
    who = caller()
    mapping = _mapping(query.mapping)
    settings: ContactsSettings = rt.service_settings
    folder = settings.imports_dir
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{new_id()}.csv"
    form.file.save(str(path))  # copied in chunks: the upload never sits in memory whole
    try:
        job = service.start_import(
            rt.database.unit_of_work(), caller=who, path=str(path.resolve()), dry_run=query.dry_run, mapping=mapping
        )
    except Exception:
        path.unlink(missing_ok=True)
        raise
    return json_response(job, 202, {"Location": f"/v1/contacts/jobs/{job['id']}"})


def _mapping(raw: str | None) -> dict[str, str | None] | None:
    if not raw:
        return None
    try:
        mapping = json.loads(raw)
    except (ValueError, RecursionError):  # RecursionError: nested too deep for the parser
        mapping = None
    if not isinstance(mapping, dict) or not all(isinstance(v, str | None) for v in mapping.values()):
        raise InvalidInput(
            "the mapping is not valid",
            errors=[FieldError("mapping", 'a JSON object {"csv column": "field or null"}', "invalid_mapping")],
        )
    return mapping
