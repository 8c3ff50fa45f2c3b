"""`callscreen-agi`: the per-call AGI script. Asterisk starts it once per call.

    AGI(callscreen-agi,DIRECTION[,NUMBER[,SUBSCRIBER[,ORIGIN[,ATTESTATION]]]])

Budget: 30 ms wall and 16 MB per call (see bench/agi_script.py), so it imports only the lean
parts of `blocklist` (no phonenumbers, no redis-py, no asyncio) and talks to Redis through one
short-lived connection. It fails open: if Redis does not answer within
`CALLSCREEN_LOOKUP_TIMEOUT_MS`, or anything else goes wrong, the call is allowed with
`SCREEN_STATUS=degraded`, and a line on stderr (Asterisk's log) says why. SIGHUP (the caller
hung up) is ignored so the variables still reach the `h` extension.

Origin screening: for a mobile home number from abroad (and only then), with
`CALLSCREEN_ROAMING_CHECK_URL` set, it asks the roaming endpoint after the store, within what
is left of the same budget (`agi.roaming_blocking`, imported for that call only); no answer in
time or an error leaves the number `roaming-unverified`, a line on stderr says why, and the
call is decided at once.
"""

from __future__ import annotations

# The C module behind `signal`: the `signal` module itself builds three enums at import, a
# measurable share of this script's start-up, for one call that ignores SIGHUP.
import _signal
import os
import sys
import time

from agi.call import BadRequestError, mset_line, request_from, set_variable_lines
from agi.protocol import (
    MAX_LINE_BYTES,
    AgiProtocolError,
    Environment,
    EnvironmentReader,
    ReplyReader,
)
from blocklist.policy import Decision, Reason
from blocklist.redaction import number_for_log
from blocklist.screening import Screener
from blocklist.settings import Settings
from blocklist.store.reads import FailoverConnection

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import BinaryIO

    from blocklist.origin import Roaming


def _readline(stream: BinaryIO) -> str:
    raw = stream.readline(MAX_LINE_BYTES + 1)
    if not raw:
        raise AgiProtocolError("Asterisk closed the AGI input")
    if len(raw) > MAX_LINE_BYTES:
        raise AgiProtocolError(f"AGI line longer than {MAX_LINE_BYTES} bytes")
    return raw.decode("utf-8", "replace").rstrip("\r\n")


def _log(message: str) -> None:
    sys.stderr.write(f"callscreen-agi: {message}\n")
    sys.stderr.flush()


def read_environment(stdin: BinaryIO) -> Environment:
    reader = EnvironmentReader()
    while not reader.feed(_readline(stdin)):
        pass
    return reader.environment


def roaming_check(settings: Settings) -> Callable[[str, float], Roaming] | None:
    """The roaming check `Screener.screen` asks, when an endpoint is configured: it logs a
    check that got no answer (timeout, error) and never raises."""
    url = settings.roaming_check_url
    if url is None:
        return None

    def check(e164: str, timeout_s: float) -> Roaming:
        deadline = time.monotonic() + timeout_s  # the import below is within the budget too
        from agi.roaming_blocking import ask_roaming  # only for a call that needs it

        answer = ask_roaming(url, e164, deadline - time.monotonic(), settings.roaming_check_ca)
        if answer.outcome in ("timeout", "error"):
            _log(f"roaming check for {number_for_log(e164, settings.log_numbers)}:"
                 f" {answer.outcome} ({answer.detail}); roaming-unverified")
        return answer.roaming

    return check


def screen(settings: Settings, environment: Environment, args: list[str]) -> Decision:
    """Decide the call. Never raises for a store failure: it fails open."""
    try:
        request = request_from(environment, args or None)
    except BadRequestError as exc:
        _log(f"bad request: {exc}; allowing the call")
        return Decision.degraded_allow(Reason.BAD_REQUEST, None)
    if request.warning is not None:
        _log(f"bad request: {request.warning}")
    # The read endpoints in order, each with what is left of the budget.
    connection = FailoverConnection(settings.redis, settings.lookup_timeout_s)
    decision = Screener(settings).screen(
        connection, request.direction, request.number, request.subscriber, request.language,
        origin=request.origin, attestation=request.attestation,
        fail_open=lambda error: _log(f"{error}; allowing the call (degraded)"),
        roaming=roaming_check(settings),
    )
    if decision.action.value != "allow":
        _log(
            f"{request.direction.value} {number_for_log(decision.e164, settings.log_numbers)}"
            f" -> {decision.action.value} ({decision.reason}, {decision.rule})"
        )
    return decision


def converse(decision: Decision, stdin: BinaryIO, stdout: BinaryIO) -> None:
    """Send the answer: one `EXEC MSet`, or, if Asterisk refuses it (or a value needs exact
    quoting), one `SET VARIABLE` per variable, one at a time, each after the last one's reply.
    """
    replies = ReplyReader()

    def send(line: str) -> bool:
        stdout.write(line.encode())
        stdout.flush()
        reply = None
        while reply is None:
            reply = replies.feed(_readline(stdin))
        if not reply.ok:
            _log(f"Asterisk answered {reply.text.splitlines()[0][:80]!r} to {line.split()[1]}")
        return reply.ok

    first = mset_line(decision)
    if first is not None and send(first):
        return
    for line in set_variable_lines(decision):
        send(line)


def main(argv: list[str] | None = None) -> int:
    """Entry point. Exit status 0 unless the AGI conversation itself broke."""
    _signal.signal(_signal.SIGHUP, _signal.SIG_IGN)
    args = list(sys.argv[1:] if argv is None else argv)
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    try:
        environment = read_environment(stdin)
        try:
            decision = screen(Settings.from_env(os.environ), environment, args)
        except Exception as exc:  # fail open, whatever went wrong
            _log(f"internal error {type(exc).__name__}: {exc}; allowing the call (degraded)")
            decision = Decision.degraded_allow(Reason.INTERNAL_ERROR, None)
        converse(decision, stdin, stdout)
    except (AgiProtocolError, BrokenPipeError) as exc:
        _log(f"AGI conversation ended: {exc}")
        return 1
    return 0


def run() -> None:
    """The `callscreen-agi` command: `main`, then exit at once.

    The answer is written and flushed by then; skipping the interpreter's clean-up (module
    teardown, a few milliseconds) is worth it in a process that lives for one call.
    """
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    run()
