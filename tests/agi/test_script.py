"""`callscreen-agi`, run as Asterisk runs it: a subprocess talking AGI on stdin/stdout."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from blocklist.entries import AppliesTo, Category, Entry, Mode
from blocklist.store.admin import Store
from tests.agi.asterisk_peer import Conversation, converse, environment

SCRIPT = shutil.which("callscreen-agi", path=os.path.dirname(sys.executable))
# The checkout these tests belong to, first on the script's path: the code under test, even
# when the installed (editable) project points at another checkout of it.
CHECKOUT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def run_script(args: tuple[str, ...], redis_url: str, *, callerid: str = "+15551230000",
               extension: str = "0201234567", timeout_ms: int = 500,
               responder=None, env_extra: dict[str, str] | None = None) -> Conversation:
    assert SCRIPT, "callscreen-agi is not installed next to this Python (make bootstrap)"
    env = {"PATH": os.environ.get("PATH", ""), "CALLSCREEN_REDIS_URL": redis_url,
           "CALLSCREEN_REGION": "NL", "CALLSCREEN_LOOKUP_TIMEOUT_MS": str(timeout_ms),
           "CALLSCREEN_DEFAULT_LANGUAGE": "en", "PYTHONPATH": CHECKOUT, **(env_extra or {})}
    proc = subprocess.Popen([SCRIPT, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env)
    assert proc.stdin and proc.stdout
    opening = environment(callerid=callerid, extension=extension, args=args, network=False)

    def write(data: bytes) -> None:
        proc.stdin.write(data)
        proc.stdin.flush()

    kwargs = {"responder": responder} if responder else {}
    conv = converse(proc.stdout.readline, write, opening, **kwargs)
    proc.stdin.close()
    assert proc.wait(timeout=10) == 0, proc.stderr.read().decode() if proc.stderr else ""
    if proc.stderr:
        conv.log = proc.stderr.read().decode()
        proc.stderr.close()
    proc.stdout.close()
    return conv


def listed(store: Store, number: str, category: Category) -> None:
    store.add_entries([Entry(key=number, is_prefix=False, category=category,
                             applies_to=AppliesTo.default_for(category), source="acm")])


def test_revoked_caller_is_blocked(store: Store, redis_url: str) -> None:
    """A revoked caller on an inbound call gets SCREEN_ACTION=block."""
    listed(store, "31851234567", Category.REVOKED)
    conv = run_script(("inbound",), redis_url, callerid="085 123 4567")
    assert conv.variables == {
        "SCREEN_ACTION": "block", "SCREEN_CATEGORY": "revoked", "SCREEN_NUMBER": "+31851234567",
        "SCREEN_PROMPT": "", "SCREEN_REASON": "listed", "SCREEN_STATUS": "ok"}


def test_suspected_dialled_number_warns_in_subscriber_language(store: Store,
                                                                redis_url: str) -> None:
    """A suspected dialled number warns, with the prompt in the subscriber's language."""
    listed(store, "31851234567", Category.SUSPECTED)
    store.set_subscriber("31201234567", mode=Mode.STANDARD, language="nl")
    conv = run_script(("outbound",), redis_url, callerid="+31201234567",
                      extension="0851234567")
    assert conv.variables["SCREEN_ACTION"] == "warn"
    assert conv.variables["SCREEN_PROMPT"] == "callscreen/nl/warn-outbound"


@pytest.mark.parametrize(
    ("args", "callerid", "reason"),
    [
        (("inbound",), "+31201111111", "not-listed"),
        (("outbound", "112"), "+31201234567", "protected"),
        (("inbound",), "anonymous", "withheld"),
        (("inbound",), 'x"\\; EXEC Dial', "invalid-number"),
    ],
)
def test_allowed_calls(store: Store, redis_url: str, args, callerid: str, reason: str) -> None:
    """Clean, emergency, withheld and garbage numbers are allowed, saying why."""
    listed(store, "31201111112", Category.FRAUD)
    conv = run_script(args, redis_url, callerid=callerid)
    assert (conv.variables["SCREEN_ACTION"], conv.variables["SCREEN_REASON"]) == ("allow", reason)


def test_allowlisted_and_opted_out(store: Store, redis_url: str) -> None:
    """An allowlisted number and an opted-out subscriber are allowed."""
    listed(store, "31851234567", Category.REVOKED)
    store.allow(("31851234567", False), {"reason": "test"})
    conv = run_script(("inbound",), redis_url, callerid="+31851234567")
    assert conv.variables["SCREEN_REASON"] == "allowlisted"
    store.disallow(("31851234567", False))
    store.set_subscriber("31201234567", mode=Mode.OFF)
    conv = run_script(("inbound", "", "+31201234567"), redis_url, callerid="+31851234567")
    assert conv.variables["SCREEN_REASON"] == "opted-out"


def test_dead_redis_fails_open() -> None:
    """With Redis down the call is allowed, degraded, with the number it read."""
    conv = run_script(("inbound",), "redis://127.0.0.1:1/0", callerid="+31851234567",
                      timeout_ms=50)
    assert conv.variables["SCREEN_ACTION"] == "allow"
    assert conv.variables["SCREEN_STATUS"] == "degraded"
    assert conv.variables["SCREEN_REASON"] == "store-unavailable"
    assert conv.variables["SCREEN_NUMBER"] == "+31851234567"  # read, though not looked up


def test_bad_configuration_fails_open(redis_url: str) -> None:
    """A broken setting still lets the call through, degraded."""
    conv = run_script(("inbound",), redis_url, env_extra={"CALLSCREEN_REGION": "XX"})
    assert (conv.variables["SCREEN_ACTION"], conv.variables["SCREEN_STATUS"]) == (
        "allow", "degraded")


def test_error_replies_do_not_stop_the_answer(redis_url: str) -> None:
    """511 and 520 replies are read whole and the remaining variables still get sent."""
    from tests.agi.asterisk_peer import USAGE_520

    def responder(index: int, _command: str) -> list[str]:
        return {0: ["511 Command Not Permitted on a dead channel or intercept routine"],
                1: USAGE_520}.get(index, ["200 result=1"])

    conv = run_script(("inbound",), redis_url, responder=responder)
    assert len(conv.commands) == 7  # MSet refused, then six SET VARIABLEs
    assert conv.commands[0].startswith("EXEC MSet ")
    assert conv.variables["SCREEN_STATUS"] == "ok"


def test_answer_is_one_mset_or_falls_back(store: Store, redis_url: str) -> None:
    """One EXEC MSet carries the answer; refused, six SET VARIABLEs carry the same."""
    from tests.agi.asterisk_peer import without_mset

    listed(store, "31851234567", Category.REVOKED)
    plain = run_script(("inbound",), redis_url, callerid="+31851234567")
    assert len(plain.commands) == 1
    fallback = run_script(("inbound",), redis_url, callerid="+31851234567",
                          responder=without_mset)
    assert fallback.variables == plain.variables
    assert [c.split()[0] for c in fallback.commands] == ["EXEC"] + ["SET"] * 6


def test_survives_sighup(redis_url: str) -> None:
    """SIGHUP (the caller hung up) does not kill the script before it answers."""
    assert SCRIPT
    env = {"PATH": os.environ.get("PATH", ""), "CALLSCREEN_REDIS_URL": redis_url}
    proc = subprocess.Popen([SCRIPT, "inbound"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, env=env)
    assert proc.stdin and proc.stdout
    time.sleep(0.3)  # let it install its handler
    proc.send_signal(signal.SIGHUP)
    proc.stdin.write(environment(args=("inbound",), network=False))
    proc.stdin.flush()
    line = proc.stdout.readline()
    proc.stdin.write(b"200 result=0\n")
    proc.stdin.flush()
    proc.stdin.close()
    assert proc.wait(timeout=10) == 0
    proc.stdout.close()
    assert line.startswith(b"EXEC MSet SCREEN_ACTION=allow,") or line.startswith(
        b'EXEC MSet "SCREEN_ACTION=allow,')


def test_truncated_environment_exits_nonzero(redis_url: str) -> None:
    """Asterisk closing the pipe mid-environment ends the script with status 1, no traceback."""
    assert SCRIPT
    proc = subprocess.run([SCRIPT, "inbound"], input=b"agi_network: yes\n", capture_output=True,
                          env={"PATH": os.environ.get("PATH", ""),
                               "CALLSCREEN_REDIS_URL": redis_url}, timeout=10)
    assert proc.returncode == 1
    assert b"Traceback" not in proc.stderr
    assert b"AGI conversation ended" in proc.stderr
