"""Errors the SMPP engine raises to the layer above (per-message problems are outcomes)."""

from __future__ import annotations


class SmppEngineError(Exception):
    """Base of the engine's errors."""


class BindFailed(SmppEngineError):
    """A connect or bind attempt failed; `command_status` is the bind_resp status if one came."""

    def __init__(self, reason: str, command_status: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.command_status = command_status


class PoolClosed(SmppEngineError):
    """The pool is closing or closed and takes no more work."""


class PoolQueueFull(SmppEngineError):
    """`submit_nowait` found max_queue messages already held by the pool."""


class QueryFailed(SmppEngineError):
    """query_sm got no usable answer: not bound, timed out, connection lost or an error status."""

    def __init__(self, reason: str, command_status: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.command_status = command_status
