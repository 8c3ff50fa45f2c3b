"""`cli_actor`: who runs a command, as the audit trail records it."""

from __future__ import annotations

import os
import pwd

from blocklist.actor import cli_actor


def test_the_actor_is_the_name_of_the_uid() -> None:
    """By default the process' own user, by the system's name for its uid."""
    assert cli_actor() == f"cli:{pwd.getpwuid(os.getuid()).pw_name}"


def test_a_uid_without_a_name_is_recorded_by_number() -> None:
    """A uid the system has no name for (a container's) is recorded as its number."""
    known = {entry.pw_uid for entry in pwd.getpwall()}
    nameless = next(uid for uid in range(70_000, 80_000) if uid not in known)
    assert cli_actor(nameless) == f"cli:{nameless}"
