"""A real SMPP 3.4 server (SMSC simulator) for tests, benchmarks and staging.

    sim = SmscSimulator(SimConfig(credentials={"acct": "secret"}), clock=ScaledClock(0.001))
    await sim.start(host="127.0.0.1", port=0)
    ... connect to ("127.0.0.1", sim.port) ...
    assert sim.recording.accepted_counts[("79031234567", "hello")] == 1
    await sim.stop()

It speaks with the project's own `pdu` codec, records what clients do (binds, windows,
submits, enquire_links, re-joined multipart messages, rule violations), sends delivery
receipts and MO messages, and injects the faults a provider SMSC shows (throttling, queue
full, invalid destinations, silence, drops, server unbinds, garbage frames, refusals).
"""

from dispatcher.smsc_sim.config import DEFAULT_MAX_SESSIONS, DEFAULT_PORT, FaultConfig, SimConfig
from dispatcher.smsc_sim.records import (
    BindAttempt,
    ConnectionAttempt,
    DeliverRecord,
    EnquireLinkRecord,
    ReceivedMessage,
    Recording,
    SessionRecord,
    SubmitRecord,
)
from dispatcher.smsc_sim.server import SmscSimulator

__all__ = [
    "DEFAULT_MAX_SESSIONS",
    "DEFAULT_PORT",
    "BindAttempt",
    "ConnectionAttempt",
    "DeliverRecord",
    "EnquireLinkRecord",
    "FaultConfig",
    "ReceivedMessage",
    "Recording",
    "SessionRecord",
    "SimConfig",
    "SmscSimulator",
    "SubmitRecord",
]
