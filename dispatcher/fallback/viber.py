"""The Viber channels of the outbox, independent of the provider that carries them.

A `viber` row is one Viber message; a `viber_sms` row is a Viber message that the provider
re-sends as an SMS when Viber does not deliver it. Such a message has two legs, each with its
own status and the provider's raw code: `ViberReport` keeps both and says which one decided
the status the outbox shows.

The decision, for a message whose SMS re-send was asked for:
- the Viber leg delivered (delivered, read, link visited): DELIVERED, decided by Viber;
- an SMS leg exists: the SMS leg decides once it is final (all segments delivered, or the
  first segment that ended otherwise); in progress until then;
- the Viber leg ended otherwise and no SMS leg exists yet: still in progress, waiting for the
  re-send (the providers report it only afterwards).
Without a re-send, the Viber leg alone decides.

Senders implement `ViberSender`: the Devino Viber HTTP API (`devino_viber`), and the Viber
calls of the Devino REST and SOAP clients.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from dispatcher.fallback.base import SendResult, StatusReport
from dispatcher.status import MessageStatus


class Leg(StrEnum):
    VIBER = "viber"
    SMS = "sms"


@dataclass(frozen=True, slots=True)
class SmsResend:
    """Ask the provider to send an SMS when Viber does not deliver. None: the Viber value."""

    text: str | None = None
    source: str | None = None
    validity_seconds: int | None = None


@dataclass(frozen=True, slots=True)
class ViberButton:
    caption: str  # the button's label
    action: str  # the URL opened on a tap
    image_url: str | None = None


@dataclass(frozen=True, slots=True)
class OutgoingViber:
    key: str  # our id for the message (the outbox id)
    source: str  # the Viber sender name, registered with the provider
    destination: str  # international digits, no '+'
    body: str  # the text; empty only for an image message
    validity_seconds: int | None = None
    resend: SmsResend | None = None  # set for the viber_sms channel
    button: ViberButton | None = None
    image_url: str | None = None  # an image message (no text, no SMS re-send)

    @property
    def sms_text(self) -> str:
        return self.body if self.resend is None or self.resend.text is None else self.resend.text

    @property
    def sms_source(self) -> str:
        if self.resend is None or self.resend.source is None:
            return self.source
        return self.resend.source


@dataclass(frozen=True, slots=True)
class LegStatus:
    status: MessageStatus  # SUBMITTED while in progress
    code: str | None = None  # the provider's raw state
    text: str | None = None  # the provider's description or error code
    ids: tuple[str, ...] = ()  # SMS leg: the provider's id of each segment


@dataclass(frozen=True, slots=True)
class ViberReport:
    provider_id: str
    viber: LegStatus
    sms: LegStatus | None  # None until the provider reports an SMS re-send
    status: MessageStatus  # what the outbox row shows
    decided_by: Leg | None  # the leg `status` comes from once final; None while in progress

    @property
    def is_final(self) -> bool:
        return self.status.is_final

    def as_status_report(self) -> StatusReport:
        """The common status record, carrying the deciding leg's raw code and text."""
        leg = self.sms if self.decided_by is Leg.SMS and self.sms is not None else self.viber
        prefix = (self.decided_by or Leg.VIBER).value
        return StatusReport(
            provider_id=self.provider_id,
            status=self.status,
            code=f"{prefix}:{leg.code}" if leg.code is not None else None,
            text=leg.text,
        )


def viber_report(
    provider_id: str, viber: LegStatus, sms: LegStatus | None, *, resend: bool
) -> ViberReport:
    """Both legs and the status they decide (see the module docstring)."""
    if viber.status is MessageStatus.DELIVERED:
        return ViberReport(provider_id, viber, sms, MessageStatus.DELIVERED, Leg.VIBER)
    if sms is not None:
        if sms.status.is_final:
            return ViberReport(provider_id, viber, sms, sms.status, Leg.SMS)
        return ViberReport(provider_id, viber, sms, MessageStatus.SUBMITTED, None)
    if viber.status.is_final and not resend:
        return ViberReport(provider_id, viber, None, viber.status, Leg.VIBER)
    return ViberReport(provider_id, viber, None, MessageStatus.SUBMITTED, None)


def sms_leg(segments: Sequence[tuple[str, MessageStatus, str | None]]) -> LegStatus:
    """One SMS leg from its segments (id, status, raw state): delivered when every segment
    is; ended otherwise as soon as one segment did (spec devino-smpp-http-soap §9.2)."""
    ids = tuple(segment_id for segment_id, _, _ in segments)
    for _, status, raw in segments:
        if status.is_final and status is not MessageStatus.DELIVERED:
            return LegStatus(status, raw, None, ids)
    if segments and all(status is MessageStatus.DELIVERED for _, status, _ in segments):
        return LegStatus(MessageStatus.DELIVERED, segments[-1][2], None, ids)
    pending = next((raw for _, status, raw in segments if not status.is_final), None)
    return LegStatus(MessageStatus.SUBMITTED, pending, None, ids)


class ViberSender(Protocol):
    """What the router needs of one provider API that carries Viber."""

    name: str
    max_viber_batch: int  # most messages `send_viber` takes at once

    async def send_viber(self, messages: Sequence[OutgoingViber]) -> list[SendResult]:
        """Send; one result per message, in order. Raises only `ChannelError`."""
        ...

    async def viber_status(
        self, provider_ids: Sequence[str], *, resend: bool = False
    ) -> list[ViberReport]:
        """Both legs of each id the provider can still answer for. `resend`: the messages
        were sent with an SMS re-send (the viber_sms channel)."""
        ...

    async def close(self) -> None: ...
