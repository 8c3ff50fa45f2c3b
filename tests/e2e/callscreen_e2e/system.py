"""The chroot, free ports and child processes."""

from __future__ import annotations

import os
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


def free_port(kind: int = socket.SOCK_STREAM, host: str = "127.0.0.1") -> int:
    """A port that is free on loopback right now (for TCP or UDP), picked by the kernel."""
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def free_udp_pair() -> int:
    """An even UDP port p with p and p+2 free (SIPp binds its media port and media port + 2)."""
    for _ in range(200):
        port = free_port(socket.SOCK_DGRAM) & ~1
        if all(_udp_free(p) for p in (port, port + 1, port + 2, port + 3)):
            return port
    raise HarnessError("no free UDP port pair on 127.0.0.1")


def _udp_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


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
