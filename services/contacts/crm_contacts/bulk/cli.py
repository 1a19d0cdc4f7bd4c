"""``crm contacts import FILE`` and ``crm contacts export``: the same job and export code, with a progress bar."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import IO

from crm_contacts.bulk import exports, loops, service
from crm_contacts.filters.rules import flatten
from crm_platform.context import Caller
from crm_platform.errors import DomainError

CLI_USER = "cli"


class ProgressBar:
    """A one-line bar on stderr, redrawn at most ten times a second."""

    def __init__(self, label: str, stream: IO[str] | None = None, width: int = 30) -> None:
        self.label, self.stream, self.width = label, stream or sys.stderr, width
        self.started = time.monotonic()
        self._drawn_at = 0.0

    def update(self, done: int, total: int | None, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._drawn_at < 0.1:
            return
        self._drawn_at = now
        elapsed = now - self.started
        rate = done / elapsed if elapsed > 0 else 0.0
        if total:
            filled = int(self.width * min(done, total) / total)
            bar = "#" * filled + "-" * (self.width - filled)
            line = f"{self.label} [{bar}] {done}/{total} {100 * done / total:5.1f}% {rate:,.0f}/s"
        else:
            line = f"{self.label} {done} {rate:,.0f}/s"
        self.stream.write("\r" + line)
        self.stream.flush()

    def close(self, done: int, total: int | None) -> None:
        self.update(done, total, force=True)
        self.stream.write("\n")
        self.stream.flush()


def register(sub: argparse._SubParsersAction) -> None:
    contacts = sub.add_parser("contacts", help="import and export contacts")
    actions = contacts.add_subparsers(dest="action", required=True)
    importing = actions.add_parser("import", help="import a CSV file of contacts (a job, run here)")
    importing.add_argument("file", type=Path)
    importing.add_argument("--workspace", required=True)
    importing.add_argument("--dry-run", action="store_true", help="check every row, write nothing")
    importing.add_argument("--user", default=CLI_USER, help="member id the job runs as (default: an admin 'cli')")
    importing.set_defaults(func=_import)
    exporting = actions.add_parser("export", help="export contacts as CSV")
    exporting.add_argument("--workspace", required=True)
    exporting.add_argument("--filter", action="append", default=[], metavar="K=V", help="a list filter, repeatable")
    exporting.add_argument("-o", "--output", type=Path, help="file to write (default: stdout)")
    exporting.set_defaults(func=_export)


def _import(args: argparse.Namespace) -> int:
    from crm_platform.cli import runtime_for

    if not args.file.is_file():
        print(f"no such file: {args.file}", file=sys.stderr)
        return 2
    rt = runtime_for("contacts", args.var)
    try:
        caller = Caller(workspace_id=args.workspace, user_id=args.user, role="admin")
        job = service.start_import(
            rt.database.unit_of_work(),
            caller=caller,
            path=str(args.file.resolve()),
            dry_run=args.dry_run,
            mapping=None,
            keep_file=True,  # the file is the user's, not an upload
        )
        if loops.claim(rt.database, job_id=job["id"]) is None:
            print(f"job {job['id']} was taken by a worker; follow it at /v1/contacts/jobs/{job['id']}", file=sys.stderr)
            return 1
        bar = ProgressBar("dry run" if args.dry_run else "import")
        seen = {"done": 0, "total": None}

        def progress(done: int, total: int | None) -> None:
            seen.update(done=done, total=total)
            bar.update(done, total)

        loops.run(rt.database, job["id"], progress)
        bar.close(seen["done"] or 0, seen["total"])
        result = service.get_job(rt.database.unit_of_work(), caller=caller, job_id=job["id"])
    except DomainError as error:
        print(f"refused: {error.detail}", file=sys.stderr)
        for field_error in error.errors:
            print(f"  {field_error.field}: {field_error.message}", file=sys.stderr)
        return 1
    finally:
        rt.close()
    for row_error in result["errors"]:
        print(f"row {row_error['row']}: {row_error['field']}: {row_error['message']}", file=sys.stderr)
    verb = "would create" if args.dry_run else "created"
    outcome = result["result"].get("would_create" if args.dry_run else "created", 0)
    print(f"{result['state']}: {verb} {outcome}, {result['failed']} row(s) with errors (job {result['id']})")
    return 0 if result["state"] == "done" else 1


def _export(args: argparse.Namespace) -> int:
    from crm_platform.cli import runtime_for

    pairs = []
    for item in args.filter:
        name, sep, value = item.partition("=")
        if not sep:
            print(f"--filter takes NAME=VALUE, got {item!r}", file=sys.stderr)
            return 2
        pairs.append((name.strip(), value))
    rt = runtime_for("contacts", args.var)
    out = args.output.open("w", newline="", encoding="utf-8") if args.output else sys.stdout
    try:
        caller = Caller(workspace_id=args.workspace, user_id=CLI_USER, role="admin")
        plan = exports.plan(rt.database.unit_of_work(), caller=caller, params=flatten(pairs))
        total = exports.count(rt.database, plan)
        bar = ProgressBar("export")
        done = 0

        def progress(rows: int) -> None:
            nonlocal done
            done += rows
            bar.update(done, total)

        for chunk in exports.stream(rt.database, plan, progress):
            out.write(chunk)
        bar.close(done, total)
    except DomainError as error:
        print(f"refused: {error.detail}", file=sys.stderr)
        for field_error in error.errors:
            print(f"  {field_error.field}: {field_error.message}", file=sys.stderr)
        return 1
    finally:
        if args.output:
            out.close()
        rt.close()
    return 0
