"""Every bearer token names a workspace: this checks that it exists before any view serves the request.

The contacts service owns workspaces and looks in its own table; every other service asks contacts over
gRPC (``GetWorkspace``). Answers are cached per process: a workspace that exists for ten minutes (they
are never deleted), one that does not for five seconds (so a workspace created a moment ago is served
soon). A token for an unknown workspace gets a 401 problem, never a 500 from a foreign key.

When contacts cannot be asked, the request is served (and nothing cached): the token is still one this
platform signed, a workspace that does not exist holds no data to leak, and reads of tickets or mail must
not stop because contacts is down.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from flask import Flask

from crm_platform import context
from crm_platform.errors import Unauthenticated, Unavailable

log = logging.getLogger(__name__)

KNOWN_SECONDS = 600.0
UNKNOWN_SECONDS = 5.0
ENTRIES_KEPT = 10_000

Lookup = Callable[[str], bool]


class WorkspaceCheck:
    """Whether a workspace exists, from ``lookup``, cached (thread-safe, bounded)."""

    def __init__(self, lookup: Lookup, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._lookup = lookup
        self._clock = clock
        self._lock = threading.Lock()
        self._answers: dict[str, tuple[bool, float]] = {}  # workspace id -> (exists, until)

    def exists(self, workspace_id: str) -> bool:
        now = self._clock()
        with self._lock:
            known = self._answers.get(workspace_id)
        if known is not None and now < known[1]:
            return known[0]
        try:
            exists = self._lookup(workspace_id)
        except Unavailable as error:
            log.warning("cannot check that workspace %s exists, serving the request: %s", workspace_id, error)
            return True
        with self._lock:
            if len(self._answers) >= ENTRIES_KEPT:
                self._answers.clear()
            self._answers[workspace_id] = (exists, now + (KNOWN_SECONDS if exists else UNKNOWN_SECONDS))
        return exists

    def require(self) -> None:
        """Before every request: refuse a token whose workspace does not exist."""
        caller = context.current_caller()
        if caller is not None and not self.exists(caller.workspace_id):
            raise Unauthenticated(f"the token names workspace {caller.workspace_id[:64]}, which does not exist")


def install(app: Flask, lookup: Lookup) -> WorkspaceCheck:
    check = WorkspaceCheck(lookup)
    app.before_request(check.require)
    app.extensions["crm.workspaces"] = check
    return check
