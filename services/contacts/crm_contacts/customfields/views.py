"""HTTP API of custom fields (under /v1/contacts, which the gateway routes to this service)."""

from __future__ import annotations

from flask_openapi3 import APIBlueprint, Tag

from crm_platform.web import SECURITY

api = APIBlueprint(
    "contacts_custom_fields",
    __name__,
    url_prefix="/v1/contacts",
    abp_tags=[Tag(name="custom fields")],
    abp_security=SECURITY,
)
