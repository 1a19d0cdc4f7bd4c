"""``crm reports rebuild [--workspace ID]``: every rollup and duration computed again from the kept facts."""

from __future__ import annotations

import argparse
import sys
import time


def register(sub: argparse._SubParsersAction) -> None:
    reports = sub.add_parser("reports", help="the reports' read models")
    actions = reports.add_subparsers(dest="action", required=True)
    rebuild = actions.add_parser(
        "rebuild", help="recompute every rollup and duration from the kept facts (one workspace, or all)"
    )
    rebuild.add_argument("--workspace", help="only this workspace id")
    rebuild.set_defaults(func=_rebuild)


def _rebuild(args: argparse.Namespace) -> int:
    from crm_platform.cli import runtime_for
    from crm_reports import projection
    from crm_reports.app import PROJECTIONS

    rt = runtime_for("reports", args.var)
    try:
        workspaces = [args.workspace] if args.workspace else projection.workspaces_with_facts(rt.database)
        for workspace_id in workspaces:
            started = time.monotonic()
            read = projection.rebuild(rt.database, PROJECTIONS, workspace_id)
            print(f"{workspace_id}: {read} facts in {time.monotonic() - started:.1f} s")
    finally:
        rt.close()
    if not workspaces:
        print("no facts kept yet", file=sys.stderr)
    return 0
