"""HTTP API of sender domains (under /v1/mailer/sender-domains): admins add, check, rotate and delete them;
every member reads them."""

from __future__ import annotations

from flask import Response, current_app
from flask_openapi3 import APIBlueprint, OpenAPI, Tag
from pydantic import BaseModel, ConfigDict, Field

from crm_mailer.domains import service
from crm_mailer.domains.models import SenderDomain
from crm_mailer.domains.represent import domain_dict
from crm_mailer.domains.service import Domains
from crm_platform import paging
from crm_platform.context import require_admin
from crm_platform.paging import PageQuery
from crm_platform.web import SECURITY, caller, idempotent, json_response, runtime

EXTENSION = "crm.mailer.domains"

api = APIBlueprint(
    "mailer_sender_domains",
    __name__,
    url_prefix="/v1/mailer/sender-domains",
    abp_tags=[Tag(name="sender domains")],
    abp_security=SECURITY,
)


class RecordOut(BaseModel):
    purpose: str = Field(description="dkim, spf or dmarc")
    type: str = Field(description="TXT")
    name: str = Field(description="where to publish it")
    value: str = Field(description="what to publish there")
    selector: str | None = Field(default=None, description="DKIM only: the key's selector")
    key_state: str | None = Field(default=None, description="DKIM only: active (signing) or pending (a new key)")
    status: str = Field(description="ok, missing, wrong, unknown (the DNS server did not answer) or unchecked")
    found: list[str] = Field(description="the records found there at the last check")
    problem: str | None = Field(description="what is missing or wrong")
    note: str | None = Field(description="e.g. a DMARC record inherited from the organisational domain")


class KeyOut(BaseModel):
    selector: str
    state: str = Field(description="pending, active or retired (its record may be removed)")
    created_at: str
    activated_at: str | None
    retired_at: str | None


class DomainOut(BaseModel):
    id: str
    domain: str
    status: str = Field(description="pending, verified or failed")
    usable_as_from: bool = Field(description="only verified domains are used as From")
    created_at: str
    verified_at: str | None
    last_checked_at: str | None
    next_check_at: str | None
    check_error: str | None = Field(description="why the last check could not conclude (DNS unreachable)")
    records: list[RecordOut]
    keys: list[KeyOut]


class DomainPage(BaseModel):
    items: list[DomainOut]
    next_cursor: str | None


class DomainIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    domain: str = Field(min_length=1, max_length=300, description="a domain the workspace owns, e.g. acme.com")


class DomainQuery(PageQuery):
    pass


class DomainPath(BaseModel):
    domain_id: str = Field(max_length=64)


def install(app: OpenAPI, domains: Domains) -> None:
    """Register the API on the mailer's app with what it needs built once (the key cipher, the settings)."""
    app.extensions[EXTENSION] = domains
    app.register_api(api)


def _domains() -> Domains:
    return current_app.extensions[EXTENSION]  # type: ignore[no-any-return]


def _answer(domain: SenderDomain, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return json_response(domain_dict(domain, spf_include=_domains().config.spf_include), status, headers)


@api.get("", responses={200: DomainPage}, summary="The workspace's sender domains, newest first")
def list_domains(query: DomainQuery):  # type: ignore[no-untyped-def]
    rows = service.list_page(
        runtime().database.unit_of_work(),
        workspace_id=caller().workspace_id,
        limit=query.limit,
        after_id=paging.after_id(query.cursor),
    )
    spf_include = _domains().config.spf_include
    page = paging.cut(rows, query.limit, key=lambda row: row.id)
    return json_response(page.body(lambda domain: domain_dict(domain, spf_include=spf_include)))


@api.post(
    "",
    responses={201: DomainOut},
    summary="Add a sender domain (admins): answers the DNS records to publish",
)
@idempotent
def add_domain(body: DomainIn):  # type: ignore[no-untyped-def]
    who = caller()
    require_admin(who, "add sender domains")
    domains = _domains()
    domain = service.create(
        runtime().database.unit_of_work(),
        domains.cipher,
        domains.config,
        workspace_id=who.workspace_id,
        name=body.domain,
    )
    return _answer(domain, 201, {"Location": f"/v1/mailer/sender-domains/{domain.id}"})


@api.get("/<domain_id>", responses={200: DomainOut}, summary="A sender domain: its status and each record's finding")
def get_domain(path: DomainPath):  # type: ignore[no-untyped-def]
    domain = service.get(
        runtime().database.unit_of_work(), workspace_id=caller().workspace_id, domain_id=path.domain_id
    )
    return _answer(domain)


@api.post("/<domain_id>/verify", responses={200: DomainOut}, summary="Check the domain's DNS records now (admins)")
def verify_domain(path: DomainPath):  # type: ignore[no-untyped-def]
    who = caller()
    require_admin(who, "verify sender domains")
    config = _domains().config
    domain = service.verify(
        runtime().database, config.lookup(), config, workspace_id=who.workspace_id, domain_id=path.domain_id
    )
    return _answer(domain)


@api.post(
    "/<domain_id>/rotate",
    responses={200: DomainOut},
    summary="Make a new DKIM key under a new selector (admins); the old one signs until the new one is verified",
)
def rotate_key(path: DomainPath):  # type: ignore[no-untyped-def]
    who = caller()
    require_admin(who, "rotate DKIM keys")
    domain = service.rotate(
        runtime().database.unit_of_work(), _domains().cipher, workspace_id=who.workspace_id, domain_id=path.domain_id
    )
    return _answer(domain)


@api.delete("/<domain_id>", responses={204: None}, summary="Remove a sender domain and its keys (admins)")
def delete_domain(path: DomainPath):  # type: ignore[no-untyped-def]
    who = caller()
    require_admin(who, "delete sender domains")
    service.delete(runtime().database.unit_of_work(), workspace_id=who.workspace_id, domain_id=path.domain_id)
    return Response(status=204)
