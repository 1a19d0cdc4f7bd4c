"""The mailer service: every email that leaves or enters the platform goes through it."""
