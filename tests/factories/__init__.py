"""Factories for tests, one module per service (and one for the platform's callers): the one place a test
builds a workspace, a member, a contact, a ticket or a mail, so a change to what one needs is made once."""
