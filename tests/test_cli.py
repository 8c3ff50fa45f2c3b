"""`callscreen`, run as an operator runs it: a real process, real pipes, a real Redis."""

from __future__ import annotations

import os
import pwd
import subprocess
import sys

from blocklist.entries import AppliesTo, Category, Entry
from blocklist.store.admin import Store

# What getpass and the old `cli:$USER` looked at; systemd units and cron jobs set none of them.
LOGIN_VARIABLES = ("USER", "LOGNAME", "LNAME", "USERNAME")


def callscreen_env(redis_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALLSCREEN_")}
    return {**env, "CALLSCREEN_REDIS_URL": redis_url, "CALLSCREEN_REGION": "NL"}


def test_export_into_a_pipe_closed_early_exits_quietly(redis_url: str, store: Store) -> None:
    """`callscreen export | head -1`: exit 141, no traceback, once the reader is gone."""
    store.add_entries([
        Entry(key=f"3185{n:07d}", is_prefix=False, category=Category.FRAUD,
              applies_to=AppliesTo.BOTH, source="acm", reason="a reason long enough " * 3)
        for n in range(3000)
    ])  # far more than a pipe holds, so the export is still writing when the reader goes
    with subprocess.Popen(
        [sys.executable, "-m", "blocklist.cli", "export", "--jsonl"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=callscreen_env(redis_url),
    ) as proc:
        assert proc.stdout and proc.stderr
        first = proc.stdout.readline()
        proc.stdout.close()  # what `head -1` does after its line
        errors = proc.stderr.read().decode()
        assert proc.wait(timeout=30) == 141
    assert first.startswith(b"{")
    assert errors == ""


def test_check_into_a_closed_pipe_exits_quietly(redis_url: str, store: Store) -> None:
    """`callscreen check` whose reader is already gone: exit 141, nothing on stderr."""
    read_end, write_end = os.pipe()
    os.close(read_end)  # no reader at all: the first write fails, whenever it comes
    try:
        done = subprocess.run(
            [sys.executable, "-m", "blocklist.cli", "check", "+31851234567",
             "--direction", "inbound"],
            stdout=write_end, stderr=subprocess.PIPE, env=callscreen_env(redis_url),
            timeout=30,
        )
    finally:
        os.close(write_end)
    assert done.returncode == 141
    assert done.stderr == b""


def test_check_prints_the_decision(redis_url: str, store: Store) -> None:
    """With a reader, check prints the decision and exits 0 (the pipe handling is inert)."""
    done = subprocess.run(
        [sys.executable, "-m", "blocklist.cli", "check", "112", "--direction", "inbound"],
        capture_output=True, text=True, env=callscreen_env(redis_url), timeout=30,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == "'112' (an emergency number or short code)" \
        "  inbound  ->  ALLOW"


def test_the_audit_actor_needs_no_user_variable(redis_url: str, store: Store) -> None:
    """Without USER or LOGNAME (systemd, cron), entries record the uid's name, not unknown."""
    env = {k: v for k, v in callscreen_env(redis_url).items() if k not in LOGIN_VARIABLES}
    for args in (("entry", "add", "085 555 0101", "--category", "revoked"),
                 ("allow", "add", "085 555 0102")):
        done = subprocess.run([sys.executable, "-m", "blocklist.cli", *args], env=env,
                              capture_output=True, text=True, timeout=30)
        assert done.returncode == 0, done.stderr
    actor = f"cli:{pwd.getpwuid(os.getuid()).pw_name}"
    assert [entry.added_by for entry in store.explain("31855550101")] == [actor]
    assert store.allowlist()[("31855550102", False)]["by"] == actor
