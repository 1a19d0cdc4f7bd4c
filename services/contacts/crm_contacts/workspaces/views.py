"""HTTP API of the workspace's settings (under /v1/contacts, which the gateway routes to this service)."""

from __future__ import annotations

from flask_openapi3 import APIBlueprint, Tag
from pydantic import BaseModel, ConfigDict, Field

from crm_contacts.workspaces import service
from crm_platform.context import require_admin
from crm_platform.web import SECURITY, caller, json_response, runtime

api = APIBlueprint(
    "contacts_settings", __name__, url_prefix="/v1/contacts", abp_tags=[Tag(name="settings")], abp_security=SECURITY
)


class SettingsOut(BaseModel):
    name: str
    default_region: str = Field(description="ISO 3166 region that reads phone numbers without a country code")
    allow_duplicates: bool
    time_zone: str = Field(description="IANA time zone, e.g. Europe/Madrid")
    languages: list[str] = Field(description="ISO 639-1 codes")
    agents_see_all: bool = Field(description="false: agents see only the contacts they own")
    recent_colors: list[str]


class SettingsPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, max_length=200)
    allow_duplicates: bool | None = None
    default_region: str | None = Field(default=None, max_length=10)
    time_zone: str | None = Field(default=None, max_length=64)
    languages: list[str] | None = Field(default=None, max_length=50)
    agents_see_all: bool | None = None


@api.get("/settings", responses={200: SettingsOut}, summary="The workspace's settings")
def get_settings():  # type: ignore[no-untyped-def]
    workspace = service.get(runtime().database.unit_of_work(), workspace_id=caller().workspace_id)
    return json_response(workspace.settings_dict())


@api.patch("/settings", responses={200: SettingsOut}, summary="Change the workspace's settings (admins)")
def update_settings(body: SettingsPatch):  # type: ignore[no-untyped-def]
    who = caller()
    require_admin(who, "change the workspace's settings")
    workspace = service.update_settings(
        runtime().database.unit_of_work(),
        workspace_id=who.workspace_id,
        changes=body.model_dump(exclude_unset=True),
        actor_id=who.user_id,
    )
    return json_response(workspace.settings_dict())
