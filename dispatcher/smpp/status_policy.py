"""What the engine does with each submit_sm_resp / query_sm_resp command_status.

The provider names three statuses (seed 004_80a28bca441860d4.txt L2959-2969); the rest is our
documented choice, following spec §9.1 item 13. An account may override any code except the
two the seed fixes for good (ESME_ROK and ESME_RINVDSTADR). Vendor codes are plain numbers.

| status                     | action     | why                                                |
|----------------------------|------------|----------------------------------------------------|
| 0x00000000 ESME_ROK        | accept     |                                                    |
| 0x0000000B ESME_RINVDSTADR | permanent  | seed L2959-2960: delete, never resend              |
| 0x00000058 ESME_RTHROTTLED | throttle   | seed L2962-2963: requeue, pause this session 1 s   |
| 0x00000014 ESME_RMSGQFUL   | queue_full | seed L2965-2969: queue end, 5/15/45 s, 3-5 retries |
| 0x00000008 ESME_RSYSERR    | transient  | spec §9.1 item 13: bounded retries                 |
| 0x00000045 ESME_RSUBMITFAIL| transient  | spec §9.1 item 13: bounded retries                 |
| 0x00000064 ESME_RX_T_APPN  | transient  | SMPP 3.4 names it a temporary error                |
| 0x0000000A ESME_RINVSRCADR | permanent  | spec §9.1 item 13 (a configuration problem)        |
| anything else              | permanent  | spec §9.1 item 13: unknown codes are not retried   |
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Final

from pdu.constants import CommandStatus


class StatusAction(StrEnum):
    ACCEPT = "accept"
    THROTTLE = "throttle"  # back to the head of the queue; the session pauses
    QUEUE_FULL = "queue_full"  # end of the queue after a growing delay, bounded attempts
    TRANSIENT = "transient"  # retried after a delay, bounded; then failed-retryable
    PERMANENT = "permanent"  # final for this message on every route


DEFAULT_ACTIONS: Final[Mapping[int, StatusAction]] = {
    CommandStatus.ESME_ROK: StatusAction.ACCEPT,
    CommandStatus.ESME_RINVDSTADR: StatusAction.PERMANENT,
    CommandStatus.ESME_RTHROTTLED: StatusAction.THROTTLE,
    CommandStatus.ESME_RMSGQFUL: StatusAction.QUEUE_FULL,
    CommandStatus.ESME_RSYSERR: StatusAction.TRANSIENT,
    CommandStatus.ESME_RSUBMITFAIL: StatusAction.TRANSIENT,
    CommandStatus.ESME_RX_T_APPN: StatusAction.TRANSIENT,
    CommandStatus.ESME_RINVSRCADR: StatusAction.PERMANENT,
}
FIXED_BY_PROVIDER: Final = frozenset({CommandStatus.ESME_ROK, CommandStatus.ESME_RINVDSTADR})


def validate_overrides(
    overrides: Mapping[int, StatusAction | str],
) -> Mapping[int, StatusAction]:
    """The overrides as `{code: StatusAction}`; ValueError for a bad code or action."""
    checked: dict[int, StatusAction] = {}
    for code, action in overrides.items():
        if not isinstance(code, int) or not 0 <= code <= 0xFFFFFFFF:
            raise ValueError(f"status override: {code!r} is not a 32-bit command_status")
        if code in FIXED_BY_PROVIDER:
            raise ValueError(
                f"status override: 0x{code:08X} is fixed by the provider and cannot be changed"
            )
        try:
            checked[code] = StatusAction(action)
        except ValueError:
            choices = ", ".join(a.value for a in StatusAction if a is not StatusAction.ACCEPT)
            raise ValueError(
                f"status override for 0x{code:08X}: {action!r} is not one of {choices}"
            ) from None
        if checked[code] is StatusAction.ACCEPT:
            raise ValueError(f"status override for 0x{code:08X}: only ESME_ROK is accepted")
    return checked


class StatusPolicy:
    """Maps a command_status to an action: the defaults above, then the account's overrides."""

    __slots__ = ("_actions",)

    def __init__(self, overrides: Mapping[int, StatusAction | str] | None = None) -> None:
        self._actions: dict[int, StatusAction] = dict(DEFAULT_ACTIONS)
        self._actions.update(validate_overrides(overrides or {}))

    def action(self, command_status: int) -> StatusAction:
        return self._actions.get(command_status, StatusAction.PERMANENT)
