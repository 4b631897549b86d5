"""The one interface every HTTP/XML/SOAP provider client implements.

The router hands a sender a batch of `OutgoingSms`, gets one `SendResult` per message back,
later asks for `StatusReport`s by the provider's ids, and reads the balance. Everything that
concerns the whole channel (bad credentials, no money, access forbidden) is raised as
`ChannelError`: the router pauses that channel and routes elsewhere; nothing of the batch was
accepted. Per-message problems are never raised: they come back as a `SendResult`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from dispatcher.status import MessageStatus


class SendOutcome(StrEnum):
    ACCEPTED = "accepted"  # the provider took it; `provider_ids` hold its ids (one per segment)
    REJECTED = "rejected"  # permanent for this message (bad number, bad text): never resend
    RETRY = "retry"  # transient: the message may be sent again, here or elsewhere
    IN_DOUBT = "in_doubt"  # the request went out but no answer came: see `resolve_in_doubt`


@dataclass(frozen=True, slots=True)
class OutgoingSms:
    key: str  # our id for the message (the outbox id); used as the client id where the API has one
    source: str  # sender name or number
    destination: str  # international digits, no '+' (e.g. 79031234567)
    body: str
    validity_seconds: int | None = None


@dataclass(frozen=True, slots=True)
class SendResult:
    key: str
    outcome: SendOutcome
    provider_ids: tuple[str, ...] = ()  # one id per segment where the API reports segments
    code: str | None = None  # the provider's raw code, kept for the outbox row
    text: str | None = None  # the provider's raw description


@dataclass(frozen=True, slots=True)
class StatusReport:
    provider_id: str
    status: MessageStatus  # SUBMITTED while in progress; a final status once the provider knows
    code: str | None = None
    text: str | None = None

    @property
    def is_final(self) -> bool:
        return self.status.is_final


@dataclass(frozen=True, slots=True)
class Balance:
    amount: float
    currency: str | None = None
    details: dict[str, str] = field(default_factory=dict)


class ChannelError(Exception):
    """The channel as a whole cannot send now (credentials, money, access, outage).

    `permanent` means an operator must act (wrong password, forbidden); otherwise the channel
    may be retried after `retry_after` seconds. The message never contains a secret.
    """

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        permanent: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.permanent = permanent
        self.retry_after = retry_after


class FallbackSender(Protocol):
    """What the router needs of one provider API."""

    name: str  # the provider name written to the outbox row's `provider` column
    max_batch: int  # most messages `send_batch` accepts at once

    async def send_batch(self, messages: Sequence[OutgoingSms]) -> list[SendResult]:
        """Send; one result per message, in order. Raises only `ChannelError`."""
        ...

    async def query_status(self, provider_ids: Sequence[str]) -> list[StatusReport]:
        """The provider's current status of each id it can still answer for."""
        ...

    async def resolve_in_doubt(self, messages: Sequence[OutgoingSms]) -> list[SendResult]:
        """Settle messages whose send request got no answer, the way this API allows.

        ACCEPTED when the provider is known to have them, RETRY when it is known not to (or
        when resending is safe, e.g. an idempotent client id), IN_DOUBT when it cannot tell.
        """
        ...

    async def balance(self) -> Balance:
        ...

    async def close(self) -> None:
        ...
