"""What a finished call must look like, shared by the scenarios: connected, rejected, and the
outcome Asterisk's dialplan logged."""

from __future__ import annotations

from .calls import Outcome

# A prompt counts as heard when at least this share of its audio reached the phone.
HEARD = 0.9
# "Nothing heard": less than this many seconds of audio (comfort frames, a stray packet).
SILENT_S = 0.5
REJECTED = 403  # Asterisk's SIP answer to hangup cause 21 (call rejected)


def connected(o: Outcome) -> None:
    """The caller got 200 OK and the called phone exactly one INVITE."""
    assert o.final == 200, f"the caller was not connected:{o}"
    assert o.callee_invited == 1, f"the called phone did not ring:{o}"
    assert o.caller.returncode == 0 and o.callee.returncode == 0, f"a SIPp call failed:{o}"


def rejected_before_ringing(o: Outcome) -> None:
    """The caller got 403 and the called phone no INVITE."""
    assert o.final == REJECTED, f"the caller was not rejected with {REJECTED}:{o}"
    assert o.callee_invited == 0, f"the called phone rang:{o}"


def screened(o: Outcome, action: str, status: str = "ok", **fields: str) -> None:
    """The dialplan logged this action and status (and `fields`) at hangup, and
    callscreen.conf's NOTICE line says the same, once."""
    assert o.result is not None, f"Asterisk logged no result for the call:{o}"
    assert (o.result["action"], o.result["status"]) == (action, status), f"{o}"
    for key, value in fields.items():
        assert o.result[key] == value, f"{key}: expected {value!r}:{o}"
    # callscreen.conf's own NOTICE line (what operators grep for) says the same, once
    assert [(s.get("action"), s.get("status")) for s in o.screenings] == [(action, status)], (
        f"callscreen.conf logged {o.screenings}:{o}")
