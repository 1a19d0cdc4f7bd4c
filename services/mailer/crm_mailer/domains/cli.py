"""``crm dkim-encryption-key``: prints a new key for MAILER_DKIM_ENCRYPTION_KEYS."""

from __future__ import annotations

import argparse

from cryptography.fernet import Fernet


def register(sub: argparse._SubParsersAction) -> None:
    command = sub.add_parser(
        "dkim-encryption-key",
        help="print a new Fernet key for MAILER_DKIM_ENCRYPTION_KEYS (put it first, keep the old ones after it "
        "until no DKIM key is encrypted with them)",
    )
    command.set_defaults(func=_print_key)


def _print_key(_args: argparse.Namespace) -> int:
    print(Fernet.generate_key().decode("ascii"))
    return 0
