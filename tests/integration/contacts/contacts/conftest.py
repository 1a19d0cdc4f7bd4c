"""This feature's fixtures: the contacts service it runs against (see ../support/record.py)."""

from tests.integration.contacts.support.record import contacts, contacts_service, grpc_target  # noqa: F401 - fixtures
