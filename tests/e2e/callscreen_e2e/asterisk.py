"""Asterisk 22 in the chroot, configured from asterisk-conf/test/ plus the project's dialplan."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

from .system import REPO, RTP_PORTS, Chroot, HarnessError, free_port, remove_tree, stop

TEST_CONF = REPO / "asterisk-conf" / "test"
PROJECT_DIALPLAN = REPO / "asterisk-conf" / "callscreen.conf"
PROJECT_SOUNDS = REPO / "asterisk-conf" / "sounds"

# The NOTICE line asterisk-conf/callscreen.conf logs for each screening (its operators' view).
SCREENING_RE = re.compile(r"\bNOTICE\[.*\] Ext\. s: callscreen (?P<fields>direction=.*)$")
RESULT_RE = re.compile(r"\bNOTICE\[.*\] Ext\. s: E2E-RESULT\|(?P<fields>.*)$")


@dataclass(frozen=True, slots=True)
class Ports:
    """Where everything listens: Asterisk's SIP and AMI ports and the two SIPp endpoints."""

    sip: int
    subscriber: int
    trunk: int
    ami: int
    abroad: int = 0  # the international trunk (origin screening)
    rtp_start: int = RTP_PORTS[0]
    rtp_end: int = RTP_PORTS[1]

    @classmethod
    def pick(cls) -> Ports:
        return cls(sip=free_port(), subscriber=free_port(), trunk=free_port(), ami=free_port(),
                   abroad=free_port())


@dataclass(frozen=True, slots=True)
class Result:
    """One E2E-RESULT line: the channel variables as the test dialplan logged them at hangup."""

    fields: dict[str, str]

    def __getitem__(self, key: str) -> str:
        return self.fields.get(key, "")

    def __str__(self) -> str:
        return " ".join(f"{k}={v if v.isprintable() else repr(v)}"
                        for k, v in self.fields.items() if k != "uniqueid")


@dataclass
class Asterisk:
    """One Asterisk process in the chroot with its own run directory (config, logs, sockets)."""

    chroot: Chroot
    ports: Ports
    env: dict[str, str]
    agi: str
    verbose: int = 3
    run_dir: Path = field(init=False)
    proc: subprocess.Popen[bytes] | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.run_dir = self.chroot.mkdtemp("callscreen-e2e-")

    # -- paths -----------------------------------------------------------------------------------
    @property
    def inside(self) -> str:
        return self.chroot.inside(self.run_dir)

    @property
    def conf(self) -> str:
        return f"{self.inside}/etc/asterisk.conf"

    @property
    def messages(self) -> Path:
        return self.run_dir / "log" / "messages.log"

    # -- lifecycle -------------------------------------------------------------------------------
    def render(self) -> None:
        """Write the run directory: test config with placeholders filled, dialplan, prompts."""
        for sub in ("etc", "lib", "data", "agi-bin", "spool", "run", "log", "sipp"):
            (self.run_dir / sub).mkdir(parents=True, exist_ok=True)
        moddirs = sorted(self.chroot.root.glob("usr/lib/*/asterisk/modules"))
        if not moddirs:
            raise HarnessError(f"no Asterisk module directory in {self.chroot.root}")
        values = {
            "RUN": self.inside,
            "MODDIR": self.chroot.inside(moddirs[0]),
            "VERBOSE": str(self.verbose),
            "SIP_PORT": str(self.ports.sip),
            "SUB_PORT": str(self.ports.subscriber),
            "TRUNK_PORT": str(self.ports.trunk),
            "ABROAD_PORT": str(self.ports.abroad),
            "AMI_PORT": str(self.ports.ami),
            "RTP_START": str(self.ports.rtp_start),
            "RTP_END": str(self.ports.rtp_end),
            "CALLSCREEN_AGI": self.agi,
        }
        for src in sorted(TEST_CONF.glob("*.conf")):
            text = src.read_text()
            for key, value in values.items():
                text = text.replace(f"@{key}@", value)
            leftover = re.search(r"@[A-Z_]+@", text)
            if leftover:
                raise HarnessError(f"{src}: placeholder {leftover.group(0)} has no value")
            (self.run_dir / "etc" / src.name).write_text(text)
        if not PROJECT_DIALPLAN.is_file():
            raise HarnessError(f"{PROJECT_DIALPLAN.relative_to(REPO)} is missing: nothing to test")
        shutil.copy(PROJECT_DIALPLAN, self.run_dir / "etc" / "callscreen.conf")
        if PROJECT_SOUNDS.is_dir():
            shutil.copytree(PROJECT_SOUNDS, self.run_dir / "data" / "sounds", dirs_exist_ok=True)
        # Asterisk reads its XML documentation from astdatadir and refuses to start some core
        # parts (stasis) without it.
        (self.run_dir / "data" / "documentation").symlink_to("/usr/share/asterisk/documentation")
        # AGI(callscreen-agi): Asterisk looks for a relative script name in astagidir, not PATH.
        (self.run_dir / "agi-bin" / "callscreen-agi").symlink_to("/usr/local/bin/callscreen-agi")

    def start(self, timeout_s: float = 30) -> None:
        self.render()
        log = (self.run_dir / "log" / "console.out").open("wb")
        argv = self.chroot.command(["asterisk", "-C", self.conf, "-f", "-n"], self.env)
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        log.close()
        deadline = time.monotonic() + timeout_s
        while True:
            if self.proc.poll() is not None:
                raise HarnessError(
                    f"Asterisk exited with {self.proc.returncode} while starting:\n"
                    + self.tail(40)
                )
            done = self.chroot.run(["asterisk", "-C", self.conf, "-rx", "core waitfullybooted"],
                                   check=False, timeout_s=timeout_s)
            if done.returncode == 0 and "fully booted" in done.stdout.lower():
                break
            if time.monotonic() > deadline:
                raise HarnessError("Asterisk did not boot in time:\n" + self.tail(40))
            time.sleep(0.1)
        self.check_modules()

    def check_modules(self) -> None:
        """Fail loudly when a module of modules.conf did not load (autoload=no hides nothing)."""
        wanted = re.findall(r"^load\s*=>\s*(\S+)", (TEST_CONF / "modules.conf").read_text(), re.M)
        shown = self.cli("module show")
        running = set(re.findall(r"^(\S+\.so)\s.*\bRunning\b", shown, re.M))
        missing = [m for m in wanted if m not in running]
        if missing:
            raise HarnessError(f"Asterisk did not load {', '.join(missing)}:\n" + self.tail(40))

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.chroot.run(["asterisk", "-C", self.conf, "-rx", "core stop now"], check=False,
                            timeout_s=15)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                stop(self.proc)
        self.proc = None

    def cleanup(self) -> None:
        self.stop()
        remove_tree(self.run_dir)

    # -- talking to it ---------------------------------------------------------------------------
    def cli(self, command: str, timeout_s: float = 15) -> str:
        if self.proc is None or self.proc.poll() is not None:
            raise HarnessError("Asterisk is not running:\n" + self.tail(40))
        done = self.chroot.run(["asterisk", "-C", self.conf, "-rx", command], timeout_s=timeout_s)
        return done.stdout

    def cpu_seconds(self) -> float:
        """CPU time (user + system) the Asterisk process has used so far, from /proc: the
        chroot command execs Asterisk, so the process started is Asterisk itself."""
        if self.proc is None or self.proc.poll() is not None:
            raise HarnessError("Asterisk is not running:\n" + self.tail(40))
        stat = Path(f"/proc/{self.proc.pid}/stat").read_text()
        fields = stat[stat.rindex(")") + 2:].split()  # after "pid (comm) "
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def set_global(self, name: str, value: str) -> None:
        self.cli(f"dialplan set global {name} {value}")

    def log_size(self) -> int:
        return self.messages.stat().st_size if self.messages.exists() else 0

    def log_since(self, offset: int) -> str:
        if not self.messages.exists():
            return ""
        with self.messages.open("rb") as fh:
            fh.seek(offset)
            return fh.read().decode("utf-8", "replace")

    def results_since(self, offset: int) -> list[Result]:
        found = []
        for line in self.log_since(offset).splitlines():
            match = RESULT_RE.search(line)
            if match:
                pairs = (item.partition("=") for item in match.group("fields").split("|"))
                fields = {k: v for k, _, v in pairs}
                # the test dialplan URI-encodes these (they may hold a line break)
                for name in ("caller", "exten", "ani"):
                    fields[name] = urllib.parse.unquote(fields.get(name, ""))
                found.append(Result(fields))
        return found

    def screenings_since(self, offset: int) -> list[dict[str, str]]:
        """The fields of callscreen.conf's own NOTICE lines (key=value, space separated)."""
        found = []
        for line in self.log_since(offset).splitlines():
            match = SCREENING_RE.search(line)
            if match:
                found.append(dict(re.findall(r"(\w+)=(\S*)", match.group("fields"))))
        return found

    def wait_results(self, offset: int, count: int, timeout_s: float = 10) -> list[Result]:
        """Wait until `count` calls have logged their E2E-RESULT line since offset."""
        deadline = time.monotonic() + timeout_s
        while True:
            results = self.results_since(offset)
            if len(results) >= count or time.monotonic() > deadline:
                return results
            time.sleep(0.05)

    def tail(self, lines: int) -> str:
        out = []
        for name in ("console.out", "messages.log"):
            path = self.run_dir / "log" / name
            if path.exists():
                text = path.read_text(errors="replace").splitlines()[-lines:]
                out.append(f"--- {name} (last {len(text)} lines)\n" + "\n".join(text))
        return "\n".join(out)
