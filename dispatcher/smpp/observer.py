"""A hook for the ops layer (Prometheus, alerts): the engine reports, the observer counts.

Every method is a no-op here; subclass and override what you need. Methods are called on the
event loop and must return quickly; an observer that raises is a bug in the observer (the
engine does not guard every per-message call, to stay fast).
"""

from __future__ import annotations

from collections.abc import Hashable

from dispatcher.smpp.session_info import SessionInfo, SessionState


class EngineObserver:
    def session_state(self, info: SessionInfo, state: SessionState) -> None:
        """A session moved to `state` (per host and bind mode via `info`)."""

    def bind_failed(self, info: SessionInfo, command_status: int | None, reason: str) -> None:
        """A connect or bind attempt failed (`command_status` of the bind_resp, if any)."""

    def reconnect_wait(self, info: SessionInfo, seconds: float, after_failure: bool) -> None:
        """A slot waits before its next attempt (60 s after a drop, 90 s after a failure)."""

    def submit_response(self, info: SessionInfo, command_status: int, latency: float) -> None:
        """A submit_sm_resp came `latency` clock seconds after the submit_sm was written."""

    def window_occupancy(self, info: SessionInfo, in_flight: int, window: int) -> None:
        """Requests in the window, reported once per loop tick that wrote to the session."""

    def throttle_pause(self, info: SessionInfo, seconds: float) -> None:
        """ESME_RTHROTTLED: this session sends nothing for `seconds`."""

    def queue_full_retry(self, key: Hashable, occurrence: int, delay: float) -> None:
        """ESME_RMSGQFUL for the `occurrence`-th time: the message waits `delay`, then requeues."""

    def transient_retry(self, key: Hashable, command_status: int, delay: float) -> None:
        """A transient status: the message is tried again after `delay`."""

    def in_doubt(self, info: SessionInfo, reason: str) -> None:
        """A written request will get no answer (timeout, connection lost)."""

    def late_response(self, info: SessionInfo, command_id: int, sequence_number: int) -> None:
        """A response matched no waiting request (e.g. it came after its timeout)."""
