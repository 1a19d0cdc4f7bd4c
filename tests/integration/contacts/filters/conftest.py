"""This feature's fixtures: the contacts service it runs against (see ../support/lists.py)."""

from tests.integration.contacts.support.lists import acme, acme_to_read, api, shared_api  # noqa: F401 - fixtures
