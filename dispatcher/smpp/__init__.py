"""The SMPP engine: sessions (one bind each), the per-account pool, and the provider's rules."""

from dispatcher.smpp.errors import (
    BindFailed,
    PoolClosed,
    PoolQueueFull,
    QueryFailed,
    SmppEngineError,
)
from dispatcher.smpp.observer import EngineObserver
from dispatcher.smpp.outcome import OutcomeKind, PartResult, SubmitOutcome, SubmitRequest
from dispatcher.smpp.pool import SmppPool
from dispatcher.smpp.session import SmppSession
from dispatcher.smpp.session_info import SessionInfo, SessionState
from dispatcher.smpp.settings import AccountSettings, BindMode, HostAddress
from dispatcher.smpp.slot_guard import AlwaysGranted, SlotGuard
from dispatcher.smpp.status_policy import StatusAction, StatusPolicy

__all__ = [
    "AccountSettings",
    "AlwaysGranted",
    "BindFailed",
    "BindMode",
    "EngineObserver",
    "HostAddress",
    "OutcomeKind",
    "PartResult",
    "PoolClosed",
    "PoolQueueFull",
    "QueryFailed",
    "SessionInfo",
    "SessionState",
    "SlotGuard",
    "SmppEngineError",
    "SmppPool",
    "SmppSession",
    "StatusAction",
    "StatusPolicy",
    "SubmitOutcome",
    "SubmitRequest",
]
