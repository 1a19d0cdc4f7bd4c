"""Failpoints: named places where an operator or a fault test can make a process die on purpose.

``CRM_FAILPOINTS="consumer.after_commit=exit-once:/tmp/marker"`` makes the process exit hard the first
time it passes ``consumer.after_commit`` (the marker file records that it already did);
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
    """Apply the action configured for ``name``; ``subject`` is what ``exit-for`` compares with."""
    action = _POINTS.get(name)
    if not action:
        return
    kind, _, arg = action.partition(":")
    if kind == "exit-once":
        if os.path.exists(arg):
            return
        with open(arg, "w") as marker:
            marker.write(name)
        os._exit(17)
    if kind == "exit" or (kind == "exit-for" and arg == subject):
        os._exit(17)
