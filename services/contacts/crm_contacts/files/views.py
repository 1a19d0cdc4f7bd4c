"""HTTP API of files (under /v1/contacts, which the gateway routes to this service)."""

from __future__ import annotations

from flask_openapi3 import APIBlueprint, Tag

from crm_platform.web import SECURITY

api = APIBlueprint(
    "contacts_files", __name__, url_prefix="/v1/contacts", abp_tags=[Tag(name="files")], abp_security=SECURITY
)
