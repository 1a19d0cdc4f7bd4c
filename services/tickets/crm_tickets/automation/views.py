"""HTTP API of the workspace's automation settings."""

from __future__ import annotations

from typing import Literal

from flask import request
from flask_openapi3 import APIBlueprint, Tag
from pydantic import BaseModel, ConfigDict, Field

from crm_platform.web import SECURITY, caller, json_response, runtime
from crm_tickets.automation import rules, service

api = APIBlueprint(
    "tickets_automation",
    __name__,
    url_prefix="/v1/tickets/settings",
    abp_tags=[Tag(name="settings")],
    abp_security=SECURITY,
)


class AutomationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    agent_reply_sets_pending: bool = Field(description="an agent's public reply moves a new or open ticket to pending")
    closed_followup: Literal[rules.FOLLOWUPS] = Field(  # type: ignore[valid-type]
        description="a reply to a closed ticket: reopen it, open a new ticket, or a new one only after "
        "followup_after_days"
    )
    followup_after_days: int = Field(ge=rules.MIN_DAYS, le=rules.MAX_DAYS)
    auto_close_solved_after_days: int | None = Field(
        ge=rules.MIN_DAYS,
        le=rules.MAX_DAYS,
        description="solved tickets close after this many days without a reply; null: never",
    )


class AutomationOut(BaseModel):
    agent_reply_sets_pending: bool
    closed_followup: Literal[rules.FOLLOWUPS]  # type: ignore[valid-type]
    followup_after_days: int
    auto_close_solved_after_days: int | None
    version: int = Field(description='0 while the workspace has the defaults; send If-Match: "<version>" on a PUT')


def _answer(policy: rules.Policy, version: int):  # type: ignore[no-untyped-def]
    return json_response(service.settings_body(policy, version), 200, {"ETag": f'"{version}"'})


@api.get("/automation", responses={200: AutomationOut}, summary="The workspace's ticket automation")
def get_automation():  # type: ignore[no-untyped-def]
    return _answer(*service.get_settings(runtime().database.unit_of_work(), caller=caller()))


@api.put(
    "/automation",
    responses={200: AutomationOut},
    summary='Replace the workspace\'s ticket automation (admins; If-Match: "<version>" refuses a stale write)',
)
def put_automation(body: AutomationIn):  # type: ignore[no-untyped-def]
    policy, version = service.put_settings(
        runtime().database.unit_of_work(),
        caller=caller(),
        values=body.model_dump(),
        if_match=request.headers.get("If-Match"),
    )
    return _answer(policy, version)
