"""One SIP call through Asterisk, and everything the harness saw of it."""

from __future__ import annotations

import re
import time
import urllib.parse
import wave
from dataclasses import dataclass
from pathlib import Path

from .asterisk import PROJECT_SOUNDS, Asterisk, Result
from .rtp import RtpSink
from .sipp import Sipp, SippRun


def prompt_seconds(prompt: str) -> float:
    """The length of a prompt of asterisk-conf/sounds (e.g. callscreen/nl/warn-inbound)."""
    with wave.open(str(Path(PROJECT_SOUNDS, prompt + ".wav")), "rb") as wav:
        return wav.getnframes() / wav.getframerate()


@dataclass
class Outcome:
    """A finished call: the caller's and the callee's SIPp runs, the audio each one received,
    and the line Asterisk's dialplan logged at hangup."""

    caller: SippRun
    callee: SippRun
    caller_heard_s: float
    callee_heard_s: float
    result: Result | None
    screenings: list[dict[str, str]]  # callscreen.conf's NOTICE lines for this call
    log: str
    agi_environments: list[list[str]]  # as Asterisk wrote them (with `agi set debug on`)

    @property
    def final(self) -> int | None:
        """The final response the caller got."""
        return self.caller.trace.final_status()

    @property
    def callee_invited(self) -> int:
        """How many INVITEs reached the callee's phone."""
        return self.callee.trace.received_requests("INVITE")

    @property
    def early_media(self) -> bool:
        return 183 in self.caller.trace.received_statuses()

    @property
    def callee_caller_id(self) -> str | None:
        """The caller ID the called phone was shown: the From user of the INVITE it got,
        URI-decoded."""
        invites = self.callee.trace.received("INVITE")
        user = invites[0].from_user if invites else None
        return urllib.parse.unquote(user) if user is not None else None

    def brief(self) -> str:
        """One line for the run's output: what each side saw."""
        return (f"final={self.final} callee_invites={self.callee_invited}"
                f" early_media={self.early_media} caller_heard={self.caller_heard_s:.2f}s"
                f" callee_heard={self.callee_heard_s:.2f}s | asterisk: {self.result}")

    def __str__(self) -> str:
        return (
            f"\n  asterisk: {self.result}"
            f"\n  caller  : exit {self.caller.returncode}: {self.caller.trace.summary()}"
            f"\n  callee  : exit {self.callee.returncode}: {self.callee.trace.summary()}"
            f"\n  audio   : caller heard {self.caller_heard_s:.2f} s,"
            f" callee heard {self.callee_heard_s:.2f} s"
            f"\n  log:\n{self.log}"
        )


@dataclass
class Calls:
    """Places calls from the trunk (inbound) or from a subscriber (outbound)."""

    asterisk: Asterisk
    sipp: Sipp
    path: str  # "fastagi" or "script": which AGI the dialplan uses

    def inbound(self, caller: str, subscriber: str, expect_answer: bool = True,
                pai: str | None = None) -> Outcome:
        """The network (trunk) calls `subscriber` from `caller` (the From user, as written:
        URI escapes such as `%0A` included); with `pai`, the INVITE carries that
        P-Asserted-Identity."""
        ports = self.asterisk.ports
        return self._call(f"in-{self.path}", caller, subscriber, ports.trunk, ports.subscriber,
                          expect_answer, *_with_pai(pai))

    def inbound_abroad(self, caller: str, subscriber: str, expect_answer: bool = True,
                       pai: str | None = None) -> Outcome:
        """The international trunk calls `subscriber` from `caller`: the test dialplan passes
        ORIGIN=international."""
        ports = self.asterisk.ports
        return self._call(f"abroad-{self.path}", caller, subscriber, ports.abroad,
                          ports.subscriber, expect_answer, *_with_pai(pai))

    def outbound(self, subscriber: str, dialled: str, expect_answer: bool = True,
                 press_1_after_s: float | None = None) -> Outcome:
        """`subscriber` dials `dialled`, out through the trunk. With `press_1_after_s`, the
        phone sends the digit 1 (RFC 4733) that long after the early media began."""
        ports = self.asterisk.ports
        scenario, extra = "caller.xml", []
        if press_1_after_s is not None:
            scenario = "caller-press-1.xml"
            extra = ["-set", "press_1_after_ms", str(int(press_1_after_s * 1000))]
        return self._call(f"out-{self.path}", subscriber, dialled, ports.subscriber, ports.trunk,
                          expect_answer, scenario, extra)

    def _call(self, name: str, caller: str, dialled: str, from_port: int, to_port: int,
              expect_answer: bool, scenario: str = "caller.xml",
              extra: list[str] | None = None) -> Outcome:
        offset = self.asterisk.log_size()
        with RtpSink() as caller_ear, RtpSink() as callee_ear:
            callee = self.sipp.answer(f"{name}-callee", to_port, callee_ear.port)
            try:
                run = self.sipp.call(f"{name}-caller", from_port,
                                     [(caller, dialled, caller_ear.port)], talk_ms=500,
                                     scenario=scenario, extra=extra)
            finally:
                # A callee that should get the call has it by now; give a late INVITE a moment.
                answered = callee.finish(timeout_s=10) if expect_answer else None
                if answered is None:
                    time.sleep(0.5)
                    answered = callee.quit()
            results = self.asterisk.wait_results(offset, 1, timeout_s=10)
        log = self.asterisk.log_since(offset)
        outcome = Outcome(run, answered, caller_ear.audio_s, callee_ear.audio_s,
                          results[-1] if results else None,
                          self.asterisk.screenings_since(offset), _interesting(log),
                          agi_environments(log))
        print(f"\n    [{self.path}] {caller} -> {dialled}: {outcome.brief()}", end="")
        return outcome


def _with_pai(pai: str | None) -> tuple[str, list[str]]:
    """The caller scenario and its SIPp arguments for an INVITE with(out) P-Asserted-Identity."""
    return ("caller.xml", []) if pai is None else ("caller-pai.xml", ["-set", "pai", pai])


_AGI_TX = re.compile(r"AGI Tx >> (.*)$")


def agi_environments(log: str) -> list[list[str]]:
    """The AGI environments Asterisk sent (logged with `agi set debug on`): for each, what
    follows `AGI Tx >> ` on every line from its first variable to the empty line that ends
    it. A value holding a line break shows up as a log line that is not an `AGI Tx` line:
    it is kept whole, so it can't pass for a variable."""
    found: list[list[str]] = []
    current: list[str] | None = None
    for line in log.splitlines():
        tx = _AGI_TX.search(line)
        payload = tx.group(1) if tx else None
        if current is None:
            if payload is None or not payload.startswith(("agi_network: ", "agi_request: ")):
                continue
            current = []
            found.append(current)
        current.append(payload if payload is not None else line)
        if payload == "":
            current = None
    return found


def _interesting(log: str) -> str:
    keep = ("NOTICE", "WARNING", "ERROR", "AGI", "Dial", "Playback", "Hangup")
    lines = [line for line in log.splitlines() if any(k in line for k in keep)]
    return "\n".join("    " + line[:300] for line in lines[-40:])
