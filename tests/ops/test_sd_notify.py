"""sd_notify against a real datagram socket, as systemd would listen on it."""

from __future__ import annotations

import socket
from pathlib import Path

from dispatcher.sd_notify import SystemdNotifier


def test_messages_reach_the_notify_socket_in_order(tmp_path: Path) -> None:
    path = str(tmp_path / "notify.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(path)
    listener.settimeout(2)
    notifier = SystemdNotifier({"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "20000000"})
    assert notifier.enabled and notifier.watchdog_interval == 10.0
    notifier.ready("bound 2/2")
    notifier.watchdog()
    notifier.stopping("draining")
    received = [listener.recv(4096).decode() for _ in range(3)]
    assert received == ["READY=1\nSTATUS=bound 2/2", "WATCHDOG=1", "STOPPING=1\nSTATUS=draining"]
    notifier.close()
    listener.close()


def test_without_systemd_nothing_happens() -> None:
    notifier = SystemdNotifier({})
    assert not notifier.enabled and notifier.watchdog_interval is None
    notifier.ready("x")  # must not raise
