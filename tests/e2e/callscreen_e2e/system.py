"""The chroot, free ports and child processes."""

from __future__ import annotations

import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
VENV_BIN = REPO / ".venv" / "bin"
CHROOT_VENV = "/opt/callscreen-e2e/venv"
ENV_ROOT = "CALLSCREEN_E2E_ROOT"


class HarnessError(RuntimeError):
    """The harness could not prepare or run a part of the end-to-end setup."""


# Ports the harness hands out (SIP, SIPp media and control, AMI, Redis, FastAGI, metrics) come
# from PICK_PORTS, Asterisk's RTP from RTP_PORTS: both below the kernel's ephemeral range.
# A port the kernel picked (bind to port 0) and we released can be handed out again at once to
# any ephemeral bind; seen: Asterisk's own resolver socket took the trunk's SIP port, and every
# call to or from the trunk failed. SIPp endpoints bind only while a scenario runs, so their
# ports must be ones nobody else gets by chance.
PICK_PORTS = (11000, 19999)
RTP_PORTS = (20000, 29998)
_handed_out: set[int] = set()


def _ephemeral_low() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def _free(port: int) -> bool:
    """Nothing is bound to the port on loopback, for TCP nor UDP."""
    for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
        with socket.socket(socket.AF_INET, kind) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                return False
    return True


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    """A port free on loopback (TCP and UDP) outside the ephemeral range, not handed out yet
    in this run. `kind` is kept for readability at the call sites."""
    del kind
    return _pick(1)


def free_udp_pair() -> int:
    """An even port p with p..p+3 free (SIPp binds its media port and media port + 2)."""
    return _pick(4, even=True)


def _pick(count: int, even: bool = False) -> int:
    low, high = PICK_PORTS
    if _ephemeral_low() <= RTP_PORTS[1]:
        raise HarnessError(
            f"the kernel's ephemeral ports start at {_ephemeral_low()}, inside the ports the "
            f"suite uses ({low}-{RTP_PORTS[1]}); see net.ipv4.ip_local_port_range"
        )
    for _ in range(1000):
        port = random.randint(low, high - count)
        if even:
            port &= ~1
        ports = range(port, port + count)
        if any(p in _handed_out for p in ports) or not all(_free(p) for p in ports):
            continue
        _handed_out.update(ports)
        return port
    raise HarnessError(f"no free port in {low}-{high} on 127.0.0.1")


def wait_for_tcp(port: int, timeout_s: float, proc: subprocess.Popen[bytes] | None = None) -> None:
    """Wait until something accepts TCP connections on 127.0.0.1:port."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise HarnessError(f"{proc.args!r} exited with {proc.returncode} before listening")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise HarnessError(f"nothing listens on 127.0.0.1:{port} after {timeout_s} s")


@dataclass(frozen=True, slots=True)
class Chroot:
    """The Debian sid chroot that tools/e2e/build-chroot made (Asterisk, SIPp, Python 3.14)."""

    root: Path

    @classmethod
    def from_environ(cls) -> Chroot:
        """The chroot named by CALLSCREEN_E2E_ROOT; a clear error when it is missing or partial."""
        value = os.environ.get(ENV_ROOT)
        if not value:
            raise HarnessError(
                f"{ENV_ROOT} is not set: run the end-to-end suite with `make e2e` "
                "(tools/e2e/run builds the Asterisk chroot and sets it)"
            )
        root = Path(value)
        venv_python = CHROOT_VENV.lstrip("/") + "/bin/python"
        for needed in ("usr/sbin/asterisk", "usr/bin/sipp", venv_python):
            if not (root / needed).exists():
                raise HarnessError(
                    f"the Asterisk chroot {root} is missing {needed}: run tools/e2e/build-chroot "
                    "and tools/e2e/run (they build it and install the project into it)"
                )
        if os.geteuid() != 0:
            raise HarnessError("the end-to-end suite must run as root (it uses chroot)")
        return cls(root)

    def host_path(self, inside: str) -> Path:
        """Where a path of the chroot is on the host."""
        return self.root / inside.lstrip("/")

    def inside(self, host: Path) -> str:
        """The chroot's name for a host path below the chroot."""
        return "/" + str(host.resolve().relative_to(self.root.resolve()))

    def mkdtemp(self, prefix: str) -> Path:
        """A fresh directory in the chroot's /tmp (host path)."""
        tmp = self.root / "tmp"
        tmp.mkdir(exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=prefix, dir=tmp))

    def command(self, argv: Sequence[str], env: dict[str, str] | None = None) -> list[str]:
        """argv to run a program inside the chroot with a clean environment."""
        base = {
            "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "HOME": "/root",
            "LANG": "C.UTF-8",
        }
        base.update(env or {})
        return [
            "chroot", str(self.root), "/usr/bin/env", "-i",
            *(f"{k}={v}" for k, v in base.items()), *argv,
        ]

    def run(self, argv: Sequence[str], timeout_s: float = 60, check: bool = True,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        """Run a program inside the chroot and wait for it."""
        proc = subprocess.run(
            self.command(argv, env), capture_output=True, text=True, timeout=timeout_s,
            check=False,
        )
        if check and proc.returncode != 0:
            raise HarnessError(
                f"{' '.join(argv)} (in the chroot) exited with {proc.returncode}:\n"
                f"{proc.stdout[-2000:]}{proc.stderr[-2000:]}"
            )
        return proc


def stop(proc: subprocess.Popen[bytes] | None, timeout_s: float = 10) -> None:
    """Stop a child: SIGTERM, then SIGKILL after timeout_s."""
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=timeout_s)


def remove_tree(path: Path) -> None:
    """Remove a run directory unless CALLSCREEN_E2E_KEEP is set (to look at logs after a run)."""
    if os.environ.get("CALLSCREEN_E2E_KEEP"):
        print(f"kept {path}")
        return
    shutil.rmtree(path, ignore_errors=True)
