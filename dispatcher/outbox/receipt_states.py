"""What an SMPP receipt's state means for the part it reports on.

The words are SMPP 3.4 Appendix B "stat" values (pdu.receipt normalises long forms and takes
the message_state TLV first). DELETED has no status of its own: like the HTTP providers'
"deleted" (specs/http-providers.md §4, Devino 47) it is a final failure, `undeliverable`.
ACCEPTD, ENROUTE and SCHEDULED are progress reports, not outcomes, and so is a word this table
does not know: the part stays `submitted`, and the overdue query or the validity limit settles
it later.
"""

from __future__ import annotations

from dispatcher.status import MessageStatus

STATUS_BY_STATE: dict[str, MessageStatus] = {
    "DELIVRD": MessageStatus.DELIVERED,
    "UNDELIV": MessageStatus.UNDELIVERABLE,
    "DELETED": MessageStatus.UNDELIVERABLE,
    "EXPIRED": MessageStatus.EXPIRED,
    "REJECTD": MessageStatus.REJECTED,
    "UNKNOWN": MessageStatus.UNKNOWN,
    "SKIPPED": MessageStatus.UNDELIVERABLE,
}


def status_for_state(state: str | None) -> MessageStatus:
    """The part status a receipt state word gives (`submitted`: no outcome yet)."""
    if state is None:
        return MessageStatus.SUBMITTED
    return STATUS_BY_STATE.get(state.upper(), MessageStatus.SUBMITTED)
