"""SIPp in the chroot: the callers and the answering phones, and what their traces say."""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from .system import REPO, Chroot, HarnessError, free_port, free_udp_pair, stop

SCENARIOS = REPO / "tests" / "e2e" / "sipp"

# -trace_msg blocks: "----...---- <date time>\nUDP message received [N] bytes :\n\n<SIP message>"
_BLOCK_RE = re.compile(
    r"^-{10,}\s*(?P<when>[^\n]*)\n(?P<transport>\w+) message (?P<dir>sent|received)[^\n]*\n+"
    r"(?P<first>[^\n]*)",
    re.MULTILINE,
)


@dataclass(frozen=True, slots=True)
class Message:
    direction: str  # "sent" or "received"
    first_line: str
    text: str = ""  # the whole message as traced

    def header(self, name: str) -> str | None:
        """The first header `name` (case-insensitive), without the name; None when absent."""
        for line in self.text.splitlines()[1:]:
            key, sep, value = line.partition(":")
            if sep and key.strip().lower() == name.lower():
                return value.strip()
        return None

    @property
    def from_user(self) -> str | None:
        """The user part of the From URI, as sent (still URI-encoded)."""
        found = re.search(r"sips?:([^@;>]*)@", self.header("From") or "")
        return found.group(1) if found else None

    @property
    def request(self) -> str | None:
        """The method of a request, None for a response."""
        return None if self.first_line.startswith("SIP/2.0") else self.first_line.split(" ", 1)[0]

    @property
    def status(self) -> int | None:
        """The code of a response, None for a request."""
        if not self.first_line.startswith("SIP/2.0"):
            return None
        return int(self.first_line.split(" ", 2)[1])


@dataclass
class Trace:
    """The SIP messages one SIPp process sent and received, in order."""

    messages: list[Message] = field(default_factory=list)

    @classmethod
    def read(cls, path: Path) -> Trace:
        if not path.exists():
            return cls()
        text = path.read_text(errors="replace")
        found = list(_BLOCK_RE.finditer(text))
        ends = [m.start() for m in found[1:]] + [len(text)]
        return cls([Message(m["dir"], m["first"].strip(), text[m.start("first"):end])
                    for m, end in zip(found, ends[:len(found)], strict=True)])

    def received(self, method: str) -> list[Message]:
        """The requests `method` received, in order."""
        return [m for m in self.messages if m.direction == "received" and m.request == method]

    def received_requests(self, method: str) -> int:
        return sum(1 for m in self.messages if m.direction == "received" and m.request == method)

    def received_statuses(self) -> list[int]:
        return [m.status for m in self.messages if m.direction == "received" and m.status]

    def final_status(self) -> int | None:
        """The final response to the INVITE as the caller got it (first >= 200)."""
        return next((s for s in self.received_statuses() if s >= 200), None)

    def summary(self) -> str:
        return ", ".join(f"{'<' if m.direction == 'received' else '>'} {m.first_line}"
                         for m in self.messages)


@dataclass
class SippRun:
    """A finished (or stopped) SIPp process: exit code, output and its SIP trace."""

    name: str
    returncode: int | None
    trace: Trace
    output: str
    errors: str = ""  # the end of SIPp's error log (-trace_err): why calls failed

    def statistic(self, counter: str) -> int | None:
        """A cumulative counter of SIPp's final statistics screen ("Successful call", ...)."""
        found = re.findall(rf"^\s*{re.escape(counter)}\s*\|[^|\n]*\|\s*(\d+)", self.output, re.M)
        return int(found[-1]) if found else None

    def describe(self) -> str:
        errors = f"\nerror log (end):\n{self.errors}" if self.errors else ""
        return (f"sipp {self.name}: exit {self.returncode}; messages: {self.trace.summary()}\n"
                f"{self.output[-1500:]}{errors}")


@dataclass
class Sipp:
    """Runs SIPp scenarios inside the chroot against Asterisk on 127.0.0.1:asterisk_port."""

    chroot: Chroot
    work: Path  # host path of a directory inside the chroot
    asterisk_port: int
    _count: int = 0

    def __post_init__(self) -> None:
        self.work.mkdir(parents=True, exist_ok=True)
        for xml in SCENARIOS.glob("*.xml"):
            shutil.copy(xml, self.work / xml.name)

    def _files(self, name: str) -> tuple[str, Path, Path]:
        self._count += 1
        stem = f"{self._count:03d}-{name}"
        return stem, self.work / f"{stem}.msg", self.work / f"{stem}.out"

    def _base(self, scenario: str, local_port: int, stem: str, msg: Path,
              trace: bool = True) -> list[str]:
        inside = self.chroot.inside(self.work)
        # The error log is kept even without the message trace: it is short (unexpected
        # messages, timeouts, retransmissions given up) and says why a call failed.
        traces = [
            *(["-trace_msg", "-message_file", self.chroot.inside(msg)] if trace else []),
            "-trace_err", "-error_file", f"{inside}/{stem}.err",
        ]
        return [
            "sipp", f"127.0.0.1:{self.asterisk_port}",
            "-sf", f"{inside}/{scenario}",
            "-i", "127.0.0.1", "-p", str(local_port),
            "-mi", "127.0.0.1", "-mp", str(free_udp_pair()),
            "-cp", str(free_port()),
            *traces,
            "-nostdin", "-nd", "-max_recv_loops", "10000",
        ]

    def call(self, name: str, local_port: int, calls: list[tuple[str, str, int]],
             talk_ms: int = 500, timeout_s: float = 60, extra: list[str] | None = None,
             trace: bool = True, scenario: str = "caller.xml") -> SippRun:
        """Place calls (caller, dialled, rtp port) from 127.0.0.1:local_port; wait for the end.

        The caller is written into the From user as given: URI escapes such as `%0A` reach
        Asterisk as they are (PJSIP decodes them); a `;` can't be given (the injection file's
        separator): write `%3B`.
        """
        if any(";" in a or ";" in b or "\n" in a + b for a, b, _ in calls):
            raise HarnessError(f"a caller or number holds ';' or a line break: {calls!r}")
        stem, msg, out = self._files(name)
        inf = self.work / f"{stem}.csv"
        inf.write_text("SEQUENTIAL\n" + "".join(f"{a};{b};{p};\n" for a, b, p in calls))
        argv = [*self._base(scenario, local_port, stem, msg, trace),
                "-inf", self.chroot.inside(inf), "-m", str(len(calls)), "-d", str(talk_ms),
                "-timeout", f"{int(timeout_s)}s", "-timeout_error", *(extra or [])]
        proc = subprocess.run(self.chroot.command(argv), capture_output=True, text=True,
                              timeout=timeout_s + 30, check=False)
        out.write_text(proc.stdout + proc.stderr)
        return SippRun(name, proc.returncode, Trace.read(msg), proc.stdout + proc.stderr,
                       _error_log_end(self.work / f"{stem}.err"))

    def answer(self, name: str, local_port: int, rtp_port: int, calls: int | None = 1,
               extra: list[str] | None = None, trace: bool = True) -> Answerer:
        """Start an answering phone on 127.0.0.1:local_port (in the background)."""
        stem, msg, out = self._files(name)
        argv = [*self._base("answerer.xml", local_port, stem, msg, trace),
                "-set", "rtp_port", str(rtp_port), *(extra or [])]
        if calls is not None:
            argv += ["-m", str(calls)]
        control = int(argv[argv.index("-cp") + 1])
        log = out.open("wb")
        proc = subprocess.Popen(self.chroot.command(argv), stdin=subprocess.DEVNULL,
                                stdout=log, stderr=subprocess.STDOUT)
        log.close()
        answerer = Answerer(name, proc, msg, out, control, self.work / f"{stem}.err")
        answerer.wait_ready(local_port)
        return answerer


@dataclass
class Answerer:
    """A SIPp answering phone running in the background."""

    name: str
    proc: subprocess.Popen[bytes]
    msg: Path
    out: Path
    control_port: int
    error_log: Path

    def wait_ready(self, sip_port: int, timeout_s: float = 10) -> None:
        """Wait until SIPp has bound its SIP port (so no INVITE arrives before it listens)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise HarnessError(f"sipp {self.name} exited with {self.proc.returncode}:\n"
                                   + self.out.read_text(errors="replace")[-1500:])
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
                try:
                    probe.bind(("127.0.0.1", sip_port))
                except OSError:
                    return
            time.sleep(0.02)
        raise HarnessError(f"sipp {self.name} did not bind 127.0.0.1:{sip_port}")

    def finish(self, timeout_s: float = 20) -> SippRun:
        """Wait for the answerer's calls to end; if it gets none, tell it to quit (soft, 'q')."""
        try:
            self.proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.quit()
        return SippRun(self.name, self.proc.returncode, Trace.read(self.msg),
                       self.out.read_text(errors="replace"), _error_log_end(self.error_log))

    def quit(self, timeout_s: float = 10) -> SippRun:
        """Stop now, cleanly (SIPp's control socket: 'Q' = quit at once), flushing its trace."""
        if self.proc.poll() is None:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as ctl:
                ctl.sendto(b"Q", ("127.0.0.1", self.control_port))
            try:
                self.proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                stop(self.proc)
        return SippRun(self.name, self.proc.returncode, Trace.read(self.msg),
                       self.out.read_text(errors="replace"), _error_log_end(self.error_log))


def _error_log_end(path: Path, lines: int = 30) -> str:
    """The last lines of a SIPp error log, or "" when SIPp wrote none."""
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return ""
    return "\n".join(text.splitlines()[-lines:])
