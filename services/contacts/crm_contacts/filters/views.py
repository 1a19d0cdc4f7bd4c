"""HTTP API of contact lists and saved filters (under /v1/contacts, which the gateway routes to this service)."""

from __future__ import annotations

from typing import Any

from flask import request
from flask_openapi3 import APIBlueprint, Tag
from pydantic import BaseModel, ConfigDict, Field

from crm_contacts.filters import rules, service
from crm_platform.openapi import QueryModel
from crm_platform.web import SECURITY, caller, idempotent, json_response, runtime

api = APIBlueprint(
    "contacts_filters", __name__, url_prefix="/v1/contacts", abp_tags=[Tag(name="filters")], abp_security=SECURITY
)


class ContactListQuery(QueryModel):
    """Filters, sort, sparse fields and paging; also ``location.<part>=`` and ``cf.<key>[.gte|.lte|.gt|.lt]=``."""

    model_config = ConfigDict(extra="allow")
    created_from: str | None = Field(default=None, description="ISO date or date-time")
    created_to: str | None = Field(default=None, description="ISO date (whole day) or date-time, inclusive")
    created_within_days: str | None = None
    owner: str | None = Field(default=None, description="comma list of member ids, `me` or `none`")
    source: str | None = None
    type: str | None = Field(default=None, description="type keys or ids")
    stage: str | None = None
    status: str | None = Field(default=None, description="active, won, lost (comma list)")
    stars: str | None = None
    stars_min: str | None = None
    tag: str | None = Field(default=None, description="contacts with all of these tags")
    name: str | None = Field(default=None, description="prefix of the name or of a word of it")
    email: str | None = None
    phone: str | None = None
    messenger: str | None = Field(default=None, description="a handle, or network:handle")
    blocked: str | None = None
    q: str | None = Field(default=None, description="name prefix, email or phone")
    sort: str | None = Field(default=None, description=", ".join(rules.SORTS))
    fields: str | None = Field(default=None, description="comma list of keys to return")
    filter: str | None = Field(default=None, description="a saved filter's id; explicit parameters override it")
    limit: str | None = Field(default=None, description="1..200, default 50")
    cursor: str | None = None


class ContactPage(BaseModel):
    items: list[dict[str, Any]]
    next_cursor: str | None


class SavedFilterIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=100)
    shared: bool = False
    query: dict[str, str | int | float | bool] = Field(default_factory=dict)


class SavedFilterPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, min_length=1, max_length=100)
    shared: bool | None = None
    query: dict[str, str | int | float | bool] | None = None


class SavedFilterOut(BaseModel):
    id: str
    name: str
    shared: bool
    owner_id: str
    query: dict[str, str]
    created_at: str


class SavedFilterList(BaseModel):
    items: list[SavedFilterOut]


class SavedFilterPath(BaseModel):
    filter_id: str = Field(max_length=64)


def query_params() -> dict[str, str]:
    return rules.flatten(request.args.items(multi=True))


@api.get("", responses={200: ContactPage}, summary="List contacts: filters, sort, cursor, sparse fields")
def list_contacts(query: ContactListQuery):  # type: ignore[no-untyped-def]
    page = service.list_page(runtime().database.unit_of_work(), caller=caller(), params=query_params())
    return json_response(page)


@api.get("/filters", responses={200: SavedFilterList}, summary="Saved filters: yours and the shared ones")
def list_saved_filters():  # type: ignore[no-untyped-def]
    return json_response({"items": service.list_saved(runtime().database.unit_of_work(), caller=caller())})


@api.post("/filters", responses={201: SavedFilterOut}, summary="Save a filter, personal or shared")
@idempotent
def create_saved_filter(body: SavedFilterIn):  # type: ignore[no-untyped-def]
    saved = service.create_saved(
        runtime().database.unit_of_work(), caller=caller(), name=body.name, shared=body.shared, query=body.query
    )
    return json_response(saved, 201, {"Location": f"/v1/contacts/filters/{saved['id']}"})


@api.get("/filters/<filter_id>", responses={200: SavedFilterOut}, summary="Get a saved filter")
def get_saved_filter(path: SavedFilterPath):  # type: ignore[no-untyped-def]
    saved = service.get_saved(runtime().database.unit_of_work(), caller=caller(), filter_id=path.filter_id)
    return json_response(saved)


@api.patch("/filters/<filter_id>", responses={200: SavedFilterOut}, summary="Change a saved filter (owner or admin)")
def update_saved_filter(path: SavedFilterPath, body: SavedFilterPatch):  # type: ignore[no-untyped-def]
    saved = service.update_saved(
        runtime().database.unit_of_work(),
        caller=caller(),
        filter_id=path.filter_id,
        name=body.name,
        shared=body.shared,
        query=body.query,
    )
    return json_response(saved)


@api.delete("/filters/<filter_id>", responses={204: None}, summary="Delete a saved filter (owner or admin)")
def delete_saved_filter(path: SavedFilterPath):  # type: ignore[no-untyped-def]
    service.delete_saved(runtime().database.unit_of_work(), caller=caller(), filter_id=path.filter_id)
    return "", 204
