"""Fixtures of the conversations integration tests that follow mail to the SMTP sink."""

from tests.integration.conversations.mailing import mailer_peer, smtp  # noqa: F401 - fixtures
