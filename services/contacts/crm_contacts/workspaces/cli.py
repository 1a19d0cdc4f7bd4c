"""``crm workspace create NAME``: prints the new workspace's id."""

from __future__ import annotations

import argparse

from crm_contacts.workspaces import service


def register(sub: argparse._SubParsersAction) -> None:
    workspace = sub.add_parser("workspace", help="manage workspaces")
    actions = workspace.add_subparsers(dest="action", required=True)
    create = actions.add_parser("create", help="create a workspace and print its id")
    create.add_argument("name")
    create.add_argument("--region", default="ES", help="default phone region (ISO 3166), default ES")
    create.add_argument("--reuse", action="store_true", help="print the id of an existing workspace of that name")
    create.set_defaults(func=_create)


def _create(args: argparse.Namespace) -> int:
    from crm_platform.cli import runtime_for

    rt = runtime_for("contacts")
    try:
        existing = service.get_by_name(rt.database.unit_of_work(), name=args.name) if args.reuse else None
        print((existing or service.create(rt.database.unit_of_work(), name=args.name, default_region=args.region)).id)
    finally:
        rt.close()
    return 0
