"""This feature's fixtures: the contacts service it runs against (see ../support/config.py)."""

from tests.integration.contacts.support.config import api, other_team, team  # noqa: F401 - fixtures
