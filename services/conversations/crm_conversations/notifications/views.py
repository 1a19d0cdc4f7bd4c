"""HTTP API of the workspace's notification settings: everyone reads them, admins change them."""

from __future__ import annotations

from flask_openapi3 import APIBlueprint, Tag
from pydantic import BaseModel, ConfigDict, Field

from crm_conversations.notifications import rules, service
from crm_platform.web import SECURITY, caller, json_response, runtime

api = APIBlueprint(
    "conversation_notification_settings",
    __name__,
    url_prefix="/v1/conversations",
    abp_tags=[Tag(name="conversations")],
    abp_security=SECURITY,
)


class NotificationSettingsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    delay_seconds: int = Field(
        ge=0,
        le=rules.MAX_DELAY_SECONDS,
        description="how long a contact's message waits unread before its assignee, not connected, is emailed",
    )


class NotificationSettingsOut(BaseModel):
    delay_seconds: int


def _default() -> int:
    return int(runtime().service_settings.unread_notification_delay_seconds)


@api.get(
    "/notification-settings",
    responses={200: NotificationSettingsOut},
    summary="The workspace's unread notification settings",
)
def get_settings():  # type: ignore[no-untyped-def]
    delay = service.get_settings(runtime().database.unit_of_work(), caller=caller(), default_delay_seconds=_default())
    return json_response({"delay_seconds": delay})


@api.put(
    "/notification-settings",
    responses={200: NotificationSettingsOut},
    summary="Change the workspace's unread notification settings (admins)",
)
def put_settings(body: NotificationSettingsIn):  # type: ignore[no-untyped-def]
    delay = service.set_settings(runtime().database.unit_of_work(), caller=caller(), delay_seconds=body.delay_seconds)
    return json_response({"delay_seconds": delay})
