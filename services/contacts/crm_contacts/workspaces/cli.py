"""``crm workspace create NAME`` and ``crm member create``: each prints the new ids, one per line."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from crm_contacts.members.models import ROLES
from crm_platform.errors import DomainError

if TYPE_CHECKING:
    from crm_contacts.members.models import Member
    from crm_platform.service import Runtime


def register(sub: argparse._SubParsersAction) -> None:
    workspace = sub.add_parser("workspace", help="manage workspaces")
    actions = workspace.add_subparsers(dest="action", required=True)
    create = actions.add_parser(
        "create", help="create a workspace and print its id (and, with --admin-email, its first admin's id)"
    )
    create.add_argument("name")
    create.add_argument("--region", default="ES", help="default phone region (ISO 3166), default ES")
    create.add_argument("--reuse", action="store_true", help="print the id of an existing workspace of that name")
    create.add_argument("--admin-email", help="create the first admin member with this email")
    create.add_argument("--admin-name", help="the first admin's name (default: the part of the email before @)")
    create.set_defaults(func=_create_workspace)

    member = sub.add_parser("member", help="manage a workspace's team members")
    member_actions = member.add_subparsers(dest="action", required=True)
    add = member_actions.add_parser("create", help="add a member to a workspace and print its id")
    add.add_argument("--workspace", required=True, help="the workspace id")
    add.add_argument("--name", required=True)
    add.add_argument("--email", required=True)
    add.add_argument("--role", required=True, choices=ROLES)
    add.set_defaults(func=_create_member)


def _create_workspace(args: argparse.Namespace) -> int:
    from crm_contacts.workspaces import service
    from crm_platform.cli import runtime_for

    if args.admin_name and not args.admin_email:
        print("--admin-name needs --admin-email", file=sys.stderr)
        return 2
    rt = runtime_for("contacts", args.var)
    try:
        existing = service.get_by_name(rt.database.unit_of_work(), name=args.name) if args.reuse else None
        if existing is not None:
            print(existing.id)
            if args.admin_email:
                print(_existing_or_new_admin(rt, existing.id, args).id)
        elif args.admin_email:
            workspace, admin = service.create_with_admin(
                rt.database.unit_of_work(),
                name=args.name,
                default_region=args.region,
                admin_name=args.admin_name or args.admin_email.split("@")[0],
                admin_email=args.admin_email,
            )
            print(workspace.id)
            print(admin.id)
        else:
            print(service.create(rt.database.unit_of_work(), name=args.name, default_region=args.region).id)
    except DomainError as error:
        return _refused(error)
    finally:
        rt.close()
    return 0


def _existing_or_new_admin(rt: Runtime, workspace_id: str, args: argparse.Namespace) -> Member:
    from crm_contacts.members import service as members

    found = members.get_by_email(rt.database.unit_of_work(), workspace_id=workspace_id, email=args.admin_email)
    if found is not None:
        return found
    return members.create(
        rt.database.unit_of_work(),
        workspace_id=workspace_id,
        name=args.admin_name or args.admin_email.split("@")[0],
        email=args.admin_email,
        role="admin",
    )


def _create_member(args: argparse.Namespace) -> int:
    from crm_contacts.members import service
    from crm_contacts.record.workspace import Workspace
    from crm_platform.cli import runtime_for

    rt = runtime_for("contacts", args.var)
    try:
        with rt.database.unit_of_work() as uow:
            if uow.session.get(Workspace, args.workspace) is None:
                print(f"no workspace {args.workspace}", file=sys.stderr)
                return 1
        member = service.create(
            rt.database.unit_of_work(), workspace_id=args.workspace, name=args.name, email=args.email, role=args.role
        )
        print(member.id)
    except DomainError as error:
        return _refused(error)
    finally:
        rt.close()
    return 0


def _refused(error: DomainError) -> int:
    details = "; ".join(f"{e.field}: {e.message}" for e in error.errors)
    print(f"{error.detail}{' (' + details + ')' if details else ''}", file=sys.stderr)
    return 1
