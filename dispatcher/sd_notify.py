"""The systemd notify protocol (sd_notify(3)) without libsystemd: one datagram per message to
the socket named by $NOTIFY_SOCKET. Outside systemd (no NOTIFY_SOCKET) every call is a no-op.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping


class SystemdNotifier:
    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        address = env.get("NOTIFY_SOCKET", "")
        if address.startswith("@"):  # an abstract socket
            address = "\0" + address[1:]
        self._address = address or None
        self._socket: socket.socket | None = None
        watchdog_usec = env.get("WATCHDOG_USEC", "")
        # Ping at half the period systemd expects, as sd_watchdog_enabled(3) advises.
        self.watchdog_interval = int(watchdog_usec) / 2e6 if watchdog_usec.isdigit() else None

    @property
    def enabled(self) -> bool:
        return self._address is not None

    def notify(self, **fields: str | int) -> None:
        """Send e.g. READY=1 and STATUS=... in one datagram; errors are swallowed (a dead
        notify socket must never stop message traffic)."""
        if self._address is None:
            return
        message = "\n".join(f"{key.upper()}={value}" for key, value in fields.items())
        try:
            if self._socket is None:
                self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            self._socket.sendto(message.encode(), self._address)
        except OSError:
            pass

    def ready(self, status: str) -> None:
        self.notify(ready=1, status=status)

    def status(self, status: str) -> None:
        self.notify(status=status)

    def watchdog(self) -> None:
        self.notify(watchdog=1)

    def stopping(self, status: str) -> None:
        self.notify(stopping=1, status=status)

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None
