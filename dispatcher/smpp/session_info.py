"""Which session something happened on: handed up with every inbound PDU and every outcome."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from dispatcher.smpp.settings import BindMode


@dataclass(frozen=True, slots=True)
class SessionInfo:
    account: str  # AccountSettings.name
    slot: int  # 0..3: the position of the bind in AccountSettings.binds
    host: str
    port: int
    mode: BindMode

    def __str__(self) -> str:
        return f"{self.account}/{self.slot}:{self.mode.value}@{self.host}:{self.port}"


class SessionState(StrEnum):
    CONNECTING = "connecting"
    BINDING = "binding"
    BOUND = "bound"
    UNBINDING = "unbinding"  # closing: takes no new work, waits for answers, then unbinds
    CLOSED = "closed"
