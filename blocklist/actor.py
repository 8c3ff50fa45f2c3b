"""Who runs a command, as the audit trail and `added_by` record it: `cli:NAME`."""

from __future__ import annotations

import os
import pwd


def cli_actor(uid: int | None = None) -> str:
    """`cli:` and the name of the user the process runs as (`uid`, default the real uid), or
    its number when the system has no name for it (a container's arbitrary uid).

    Not `$USER` or `$LOGNAME`: systemd units and cron jobs don't set them, and they say what
    the environment claims rather than who runs the process.
    """
    uid = os.getuid() if uid is None else uid
    try:
        return f"cli:{pwd.getpwuid(uid).pw_name}"
    except KeyError:
        return f"cli:{uid}"
