"""An RTP sink: the ear of a SIPp endpoint. It counts the audio Asterisk sends to a port."""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass, field

PCMU = 0
PACKET_S = 0.020  # Asterisk sends 20 ms ulaw frames


@dataclass
class RtpSink:
    """Listens on 127.0.0.1:port and keeps arrival times of the PCMU packets it gets."""

    port: int = 0
    arrivals: list[float] = field(default_factory=list)
    _sock: socket.socket | None = None
    _thread: threading.Thread | None = None
    _stop: threading.Event = field(default_factory=threading.Event)

    def __enter__(self) -> RtpSink:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.bind(("127.0.0.1", self.port))
        self._sock.settimeout(0.1)
        self.port = self._sock.getsockname()[1]
        self._thread = threading.Thread(target=self._receive, name=f"rtp-{self.port}", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        if self._sock is not None:
            self._sock.close()

    def _receive(self) -> None:
        assert self._sock is not None
        while not self._stop.is_set():
            try:
                data = self._sock.recv(2048)
            except TimeoutError:
                continue
            except OSError:
                return
            # RTP version 2, payload type in the low 7 bits of byte 1
            if len(data) > 12 and data[0] >> 6 == 2 and data[1] & 0x7F == PCMU:
                self.arrivals.append(time.monotonic())

    @property
    def packets(self) -> int:
        return len(self.arrivals)

    @property
    def audio_s(self) -> float:
        """Seconds of audio received (20 ms per packet)."""
        return self.packets * PACKET_S
