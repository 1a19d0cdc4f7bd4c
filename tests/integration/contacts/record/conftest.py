"""This feature's fixtures: the contacts service it runs against (see ../support/activity.py)."""

from tests.integration.contacts.support.activity import api, world  # noqa: F401 - fixtures
