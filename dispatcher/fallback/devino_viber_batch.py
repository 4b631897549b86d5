"""The Viber calls the Devino REST and SOAP clients share: which messages they can carry,
batching, error classes, and status polling of both legs. The clients supply the wire format
(`SendViberText`, `FetchViberState`).

Both APIs send one Viber text from one sender to many recipients per request, with or without
an SMS re-send (REST R10-R13, seed L947-1303; SOAP SendMessage / SendMessageWithResend, seed
L4236-4417), and the re-sent SMS carries the Viber text from the Viber sender (seed L949-950):
so a message is refused locally when it asks for another SMS text or sender, a button or an
image. Everything else reuses `devino_batch`: same-text requests, one-by-one isolation when a
bulk request is refused for one bad number (seed L1084-1085), in-doubt handling.

A refusal names a Viber return code in `Desc` (seed L1035-1038) or in a SOAP fault's text;
such a code decides the message's fate by the Viber table (spec §9.4: `error-system` is
retryable, every other code permanent), whatever the numeric `Code` says.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence

import structlog

from dispatcher.fallback.base import ChannelError, OutgoingSms, SendOutcome, SendResult
from dispatcher.fallback.devino_batch import (
    DevinoApiError,
    DevinoBatchSender,
    RequestInDoubt,
    RequestNotSent,
    SendSameText,
    channel_error,
)
from dispatcher.fallback.devino_codes import ErrorAction
from dispatcher.fallback.devino_viber_codes import (
    common_problem,
    is_message_code,
    message_code_action,
    same_sender_problem,
    text_only_problem,
)
from dispatcher.fallback.viber import LegStatus, OutgoingViber, ViberReport, sms_leg, viber_report
from dispatcher.status import MessageStatus

log = structlog.get_logger(__name__)

# seed L986 (REST), L4303 (SOAP): Validity in minutes, 1 to 1440 (spec A18: the examples'
# 86400 contradicts the table; the table is followed).
VALIDITY_RANGE_MINUTES = (1, 1440)
# Required by SOAP (L4303) and sent by REST too: one hour, like the Viber API's examples
# (L6164: 3600 s). A short Viber lifetime lets the SMS re-send come soon.
DEFAULT_VALIDITY_MINUTES = 60

# (source, destinations, text, validity in minutes or None, re-send) -> one id per recipient
SendViberText = Callable[[str, list[str], str, int | None, bool], Awaitable[list[str]]]
# provider id -> (the Viber leg, the SMS re-send's segments as (id, status, raw state))
SmsSegments = list[tuple[str, MessageStatus, str | None]]
FetchViberState = Callable[[str], Awaitable[tuple[LegStatus, SmsSegments]]]

_CHANNEL_ACTIONS = (ErrorAction.STOP_CHANNEL, ErrorAction.PAUSE_CHANNEL, ErrorAction.RENEW_SESSION)


def viber_validity(minutes: int | None) -> int:
    """The Validity to send: the message's lifetime in minutes, within 1..1440."""
    low, high = VALIDITY_RANGE_MINUTES
    return min(high, max(low, minutes if minutes is not None else DEFAULT_VALIDITY_MINUTES))


def reclassified(error: DevinoApiError) -> DevinoApiError:
    """The error judged by the Viber return code it names, when it names one."""
    code = error.text.strip().lower()
    if not is_message_code(code):
        return error
    return DevinoApiError(message_code_action(code), code, error.text)


class DevinoViberBatches:
    def __init__(
        self,
        *,
        provider: str,
        send_text: SendViberText,
        fetch_state: FetchViberState,
        max_recipients: int,
        concurrency: int,
    ) -> None:
        self._provider = provider
        self._send_text = send_text
        self._fetch_state = fetch_state
        self._concurrency = max(1, concurrency)
        self._batches = {
            resend: DevinoBatchSender(
                provider=provider,
                send_same_text=self._sender(resend),
                max_recipients=max_recipients,
                concurrency=concurrency,
                unsendable=lambda _: None,
            )
            for resend in (False, True)
        }

    async def send(self, messages: Sequence[OutgoingViber]) -> list[SendResult]:
        results: list[SendResult | None] = [None] * len(messages)
        groups: dict[bool, list[int]] = {}
        for index, message in enumerate(messages):
            problem = (
                text_only_problem(message)
                or common_problem(message)
                or same_sender_problem(message)
            )
            if problem is not None:
                results[index] = SendResult(message.key, SendOutcome.REJECTED, text=problem)
            else:
                groups.setdefault(message.resend is not None, []).append(index)
        halted: ChannelError | None = None
        for resend, indices in groups.items():
            batch = [_as_sms(messages[i]) for i in indices]
            if halted is not None:
                answers = [_not_sent(sms.key) for sms in batch]
            else:
                try:
                    answers = await self._batches[resend].send(batch)
                except ChannelError as error:
                    halted = error
                    answers = [_not_sent(sms.key) for sms in batch]
            for index, answer in zip(indices, answers, strict=True):
                results[index] = answer
        final = [r for r in results if r is not None]
        if halted is not None and all(r.outcome is SendOutcome.RETRY for r in final):
            raise halted
        return final

    async def status(self, provider_ids: Sequence[str], *, resend: bool) -> list[ViberReport]:
        """One state request per id; ids the provider cannot answer for are left out."""
        slots = asyncio.Semaphore(self._concurrency)

        async def one(provider_id: str) -> ViberReport | None:
            async with slots:
                try:
                    viber, segments = await self._fetch_state(provider_id)
                except DevinoApiError as error:
                    if error.action in _CHANNEL_ACTIONS:
                        raise channel_error(self._provider, error) from None
                    log.warning(
                        "devino_viber_state_error",
                        provider=self._provider,
                        code=error.code,
                        text=error.text,
                    )
                    return None
                except (RequestNotSent, RequestInDoubt) as error:
                    log.warning(
                        "devino_viber_state_unanswered", provider=self._provider, reason=str(error)
                    )
                    return None
            sms = sms_leg(segments) if segments else None
            return viber_report(provider_id, viber, sms, resend=resend)

        answers = await asyncio.gather(*(one(i) for i in provider_ids), return_exceptions=True)
        for answer in answers:
            if isinstance(answer, BaseException):
                raise answer
        return [a for a in answers if isinstance(a, ViberReport)]

    def _sender(self, resend: bool) -> SendSameText:
        async def send(
            source: str, destinations: list[str], body: str, validity: int | None
        ) -> list[str]:
            try:
                return await self._send_text(source, destinations, body, validity, resend)
            except DevinoApiError as error:
                raise reclassified(error) from None

        return send


def _as_sms(message: OutgoingViber) -> OutgoingSms:
    return OutgoingSms(
        message.key,
        message.source,
        message.destination.removeprefix("+"),
        message.body,
        message.validity_seconds,
    )


def _not_sent(key: str) -> SendResult:
    return SendResult(key, SendOutcome.RETRY, text="not sent: the channel failed earlier")
