"""Failpoints: named places where an operator or a fault test can make a process die on purpose.

``CRM_FAILPOINTS="consumer.after_commit=exit-once:/tmp/marker"`` makes the process exit hard the first
time it passes ``consumer.after_commit`` (the marker file records that it already did), and
``exit-once:/tmp/marker@tickets.comment.public_added`` the first time it passes it with that subject;
``consumer.before_handle=exit-for:<event id>`` makes it exit every time it is about to handle that one
event (a message that kills its consumer). Unset, a failpoint costs one dictionary lookup.
"""

from __future__ import annotations

import os


def _parse(raw: str) -> dict[str, str]:
    points = {}
    for item in filter(None, (part.strip() for part in raw.split(","))):
        name, _, action = item.partition("=")
        points[name] = action
    return points


_POINTS = _parse(os.environ.get("CRM_FAILPOINTS", ""))


def failpoint(name: str, subject: str = "") -> None:
    """Apply the action configured for ``name``; ``subject`` is what ``exit-for`` and ``exit-once:…@`` match."""
    action = _POINTS.get(name)
    if not action:
        return
    kind, _, arg = action.partition(":")
    if kind == "exit-once":
        arg, _, wanted = arg.partition("@")
        if os.path.exists(arg) or (wanted and wanted != subject):
            return
        with open(arg, "w") as marker:
            marker.write(name)
        os._exit(17)
    if kind == "exit" or (kind == "exit-for" and arg == subject):
        os._exit(17)
