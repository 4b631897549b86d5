"""The status values of an outbox row, common to every route (SMPP and every HTTP provider).

The provider's own code and text are always kept beside the status (`error_code`,
`error_text` in the outbox), so nothing the provider said is lost in this mapping.
"""

from __future__ import annotations

from enum import StrEnum


class MessageStatus(StrEnum):
    QUEUED = "queued"  # waiting in the outbox (new, or back after a transient failure)
    SENDING = "sending"  # claimed by a daemon, on its way to a provider
    SUBMITTED = "submitted"  # accepted by the SMSC or provider; waiting for the receipt
    DELIVERED = "delivered"  # the handset has it (final)
    UNDELIVERABLE = "undeliverable"  # the network could not deliver it (final)
    EXPIRED = "expired"  # validity ran out before delivery (final)
    REJECTED = "rejected"  # refused: bad row, invalid destination, ... never resent (final)
    FAILED = "failed"  # every allowed attempt failed (final)
    UNKNOWN = "unknown"  # the outcome cannot be learned (final)

    @property
    def is_final(self) -> bool:
        return self in FINAL_STATUSES


FINAL_STATUSES = frozenset(
    {
        MessageStatus.DELIVERED,
        MessageStatus.UNDELIVERABLE,
        MessageStatus.EXPIRED,
        MessageStatus.REJECTED,
        MessageStatus.FAILED,
        MessageStatus.UNKNOWN,
    }
)
