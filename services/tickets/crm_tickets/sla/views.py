"""HTTP API of the workspace's SLA settings: the business calendar and a policy per priority."""

from __future__ import annotations

from datetime import date

from flask import request
from flask_openapi3 import APIBlueprint, Tag
from pydantic import BaseModel, ConfigDict, Field

from crm_platform.business_hours import MAX_HOLIDAYS
from crm_platform.business_hours_schema import IntervalOut, WeekHours, spans
from crm_platform.versioning import etag
from crm_platform.web import SECURITY, caller, json_response, runtime
from crm_tickets.sla import rules, service
from crm_tickets.tickets.rules import PRIORITIES

api = APIBlueprint(
    "tickets_sla", __name__, url_prefix="/v1/tickets/settings", abp_tags=[Tag(name="settings")], abp_security=SECURITY
)


class PolicyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    first_response_minutes: int | None = Field(default=None, ge=1, le=rules.MAX_TARGET_MINUTES)
    update_minutes: int | None = Field(default=None, ge=1, le=rules.MAX_TARGET_MINUTES)
    solution_minutes: int | None = Field(default=None, ge=1, le=rules.MAX_TARGET_MINUTES)


class Policies(BaseModel):
    model_config = ConfigDict(extra="forbid")
    low: PolicyIn | None = None
    normal: PolicyIn | None = None
    high: PolicyIn | None = None
    urgent: PolicyIn | None = None


class SlaIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    time_zone: str = Field(max_length=64, description="IANA time zone the business hours are in, e.g. Europe/Madrid")
    business_hours: WeekHours
    holidays: list[date] = Field(default_factory=list, max_length=MAX_HOLIDAYS, description="local dates")
    policies: Policies = Field(description="per priority; null or absent: no SLA for that priority")


class PolicyOut(BaseModel):
    id: str
    first_response_minutes: int | None
    update_minutes: int | None
    solution_minutes: int | None


class SlaOut(BaseModel):
    time_zone: str
    business_hours: dict[str, list[IntervalOut]]
    holidays: list[str]
    policies: dict[str, PolicyOut | None]
    version: int = Field(description='0 while the workspace has the defaults; send If-Match: "<version>" on a PUT')


def _answer(body: dict):  # type: ignore[no-untyped-def,type-arg]
    return json_response(body, 200, {"ETag": etag(body["version"])})


@api.get("/sla", responses={200: SlaOut}, summary="The workspace's SLA calendar and policies")
def get_sla():  # type: ignore[no-untyped-def]
    return _answer(service.get_settings(runtime().database.unit_of_work(), caller=caller()))


@api.put(
    "/sla",
    responses={200: SlaOut},
    summary='Replace the workspace\'s SLA calendar and policies (admins; If-Match: "<version>" refuses a stale write)',
)
def put_sla(body: SlaIn):  # type: ignore[no-untyped-def]
    policies = {}
    for priority in PRIORITIES:
        given: PolicyIn | None = getattr(body.policies, priority)
        if given is not None:
            policies[priority] = (given.first_response_minutes, given.update_minutes, given.solution_minutes)
    answer = service.put_settings(
        runtime().database.unit_of_work(),
        caller=caller(),
        time_zone=body.time_zone,
        business_hours=spans(body.business_hours),
        holidays=body.holidays,
        policies=policies,
        if_match=request.headers.get("If-Match"),
    )
    return _answer(answer)


class TicketSlaOut(BaseModel):
    """A ticket's deadlines under its priority's policy (``sla`` in the ticket's JSON)."""

    policy: str = Field(description="the id of the priority's policy")
    first_response_due_at: str | None = Field(description="null: no such target, or paused (pending, stopped)")
    first_response_met: bool | None = Field(description="null: still running")
    update_due_at: str | None
    update_met: bool | None
    solution_due_at: str | None
    solution_met: bool | None
    breached: list[str] = Field(description="the targets reported breached: first_response, update, solution")
