"""The batch logic shared by the Devino REST and SOAP clients.

Both APIs send one text to many recipients per request (REST SendBulk, SOAP SendMessage) and
answer with a flat list of segment ids, all segments of the first recipient first (seed
L526-529). Both learn status one segment id per request (seed L701-705, L3997-4010). Neither can
tell afterwards whether a request that got no answer went through (spec §9.2). This module
turns a batch of `OutgoingSms` into such requests and their answers into `SendResult`s; the
clients supply the two calls (`SendSameText`, `FetchState`) for their wire format.

Failure semantics of a send request:
- `DevinoApiError`: the provider answered with an error; nothing of that request was sent
  (validation precedes sending, seed L1862-1876), so REJECT / RETRY are safe per message.
- `RequestNotSent`: the request never reached the provider (connect failed, login failed).
- `RequestInDoubt`: written but unanswered (timeout, dropped connection, unreadable reply).
  The messages become IN_DOUBT, and `resolve_in_doubt` cannot settle them either: these APIs
  have no client id to look a message up by. The route policy decides between resending
  (at-least-once, a duplicate is possible) and marking them unknown (at-most-once).
After a channel-level failure or an in-doubt request, requests not yet started are not sent
(RETRY): a provider that just failed is not fed the rest of the batch.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

import structlog

from dispatcher.fallback.base import (
    ChannelError,
    OutgoingSms,
    SendOutcome,
    SendResult,
    StatusReport,
)
from dispatcher.fallback.devino_codes import (
    MAX_DATA_CHARS,
    SMS_STATES,
    ErrorAction,
    decode_sms_state,
)

log = structlog.get_logger(__name__)

# Our choices (the seed names no pause): how long the channel rests after "not enough
# credits", and after the provider could not be reached at all.
NO_CREDIT_PAUSE_SECONDS = 300.0
UNREACHABLE_RETRY_SECONDS = 60.0


class DevinoApiError(Exception):
    """The provider answered with an error. `text` is already free of secrets."""

    def __init__(self, action: ErrorAction, code: str | None, text: str) -> None:
        super().__init__(f"{code}: {text}" if code else text)
        self.action = action
        self.code = code
        self.text = text


class RequestNotSent(Exception):
    """Nothing reached the provider; resending is safe."""


class RequestInDoubt(Exception):
    """The request was written but no usable answer came back; it may have been processed."""


# (source, destinations, text, validity in minutes or None) -> segment ids, grouped by recipient
SendSameText = Callable[[str, list[str], str, int | None], Awaitable[list[str]]]
# segment id -> (state code, state description)
FetchState = Callable[[str], Awaitable[tuple[int, str | None]]]


def validity_minutes(validity_seconds: int | None) -> int | None:
    """Devino takes the lifetime in whole minutes (seed L262); round up and send at least 1
    (spec A19: 0 may mean the platform default, and SMPP needs at least 60 s)."""
    if validity_seconds is None:
        return None
    return max(1, math.ceil(validity_seconds / 60))


def local_problem(message: OutgoingSms) -> str | None:
    """Why the provider is certain to refuse this message, found without asking it."""
    if not message.body:
        return "empty text"
    if len(message.body) > MAX_DATA_CHARS:  # seed L238, L3809
        return f"text longer than {MAX_DATA_CHARS} characters"
    if not message.destination:
        return "empty destination"
    if not message.source:
        return "empty source address"
    return None


def split_ids(ids: Sequence[str], recipients: int) -> list[tuple[str, ...]] | None:
    """Segment ids per recipient: every recipient got the same text, so the same number of
    segments (spec §2.4). None when the count does not divide evenly."""
    if recipients <= 0 or not ids or len(ids) % recipients:
        return None
    per_recipient = len(ids) // recipients
    return [tuple(ids[i : i + per_recipient]) for i in range(0, len(ids), per_recipient)]


def channel_error(provider: str, error: DevinoApiError) -> ChannelError:
    """The ChannelError for a channel-level provider error (spec §9.4)."""
    if error.action is ErrorAction.PAUSE_CHANNEL:
        return ChannelError(
            f"{provider}: {error.text}", code=error.code, retry_after=NO_CREDIT_PAUSE_SECONDS
        )
    if error.action in (ErrorAction.STOP_CHANNEL, ErrorAction.RENEW_SESSION):
        # RENEW_SESSION reaching here means a fresh session was refused too.
        return ChannelError(f"{provider}: {error.text}", code=error.code, permanent=True)
    return ChannelError(
        f"{provider}: {error.text}", code=error.code, retry_after=UNREACHABLE_RETRY_SECONDS
    )


def unreachable(provider: str, reason: str) -> ChannelError:
    return ChannelError(f"{provider}: {reason}", retry_after=UNREACHABLE_RETRY_SECONDS)


_CHANNEL_ACTIONS = (
    ErrorAction.STOP_CHANNEL,
    ErrorAction.PAUSE_CHANNEL,
    ErrorAction.RENEW_SESSION,
)


class _Keyed(Protocol):
    @property
    def key(self) -> str: ...


MessageT = TypeVar("MessageT", bound=_Keyed)


@dataclass
class BatchRun(Generic[MessageT]):
    """The results of one batch send as they come in, by the message's index in the batch;
    `halted` once a failure means requests not yet started are not sent."""

    messages: Sequence[MessageT]
    results: dict[int, SendResult] = field(default_factory=dict)
    halted: bool = False
    halted_by: ChannelError | None = None

    def set(
        self,
        index: int,
        outcome: SendOutcome,
        *,
        provider_ids: tuple[str, ...] = (),
        code: str | None = None,
        text: str | None = None,
    ) -> None:
        key = self.messages[index].key
        self.results[index] = SendResult(key, outcome, provider_ids, code, text)

    def halt(self, error: ChannelError | None) -> None:
        self.halted = True
        if error is not None and self.halted_by is None:
            self.halted_by = error

    def finish(self) -> list[SendResult]:
        """The results in batch order; raises `halted_by` when nothing of the batch was taken
        (the whole channel is out)."""
        results = [self.results[i] for i in range(len(self.messages))]
        if (
            self.halted_by is not None
            and results
            and all(r.outcome is SendOutcome.RETRY for r in results)
        ):
            raise self.halted_by
        return results


class DevinoBatchSender:
    """Sends a batch as same-text requests of at most `max_recipients` recipients each.

    `unsendable` names what the API's wire format cannot carry (on top of `local_problem`);
    such messages are REJECTED without a request."""

    def __init__(
        self,
        *,
        provider: str,
        send_same_text: SendSameText,
        max_recipients: int,
        concurrency: int,
        unsendable: Callable[[OutgoingSms], str | None],
    ) -> None:
        self._provider = provider
        self._unsendable = unsendable
        self._send_same_text = send_same_text
        self._max_recipients = max(1, max_recipients)
        self._concurrency = max(1, concurrency)

    async def send(self, messages: Sequence[OutgoingSms]) -> list[SendResult]:
        run = BatchRun(messages)
        groups: dict[tuple[str, str, int | None], list[int]] = {}
        for index, message in enumerate(messages):
            problem = local_problem(message) or self._unsendable(message)
            if problem is not None:
                run.set(index, SendOutcome.REJECTED, text=problem)
                continue
            key = (message.source, message.body, validity_minutes(message.validity_seconds))
            groups.setdefault(key, []).append(index)

        slots = asyncio.Semaphore(self._concurrency)

        async def send_chunk(key: tuple[str, str, int | None], chunk: list[int]) -> None:
            async with slots:
                await self._attempt(run, key, chunk)

        await asyncio.gather(
            *(
                send_chunk(key, indices[start : start + self._max_recipients])
                for key, indices in groups.items()
                for start in range(0, len(indices), self._max_recipients)
            )
        )
        return run.finish()

    async def _attempt(
        self, run: BatchRun[OutgoingSms], key: tuple[str, str, int | None], chunk: list[int]
    ) -> None:
        if run.halted:
            for index in chunk:
                run.set(index, SendOutcome.RETRY, text="not sent: the channel failed earlier")
            return
        source, body, validity = key
        destinations = [run.messages[i].destination for i in chunk]
        try:
            ids = await self._send_same_text(source, destinations, body, validity)
        except DevinoApiError as error:
            if error.action is ErrorAction.REJECT and len(chunk) > 1:
                # seed L1872-1873: one bad number refuses the whole request and nothing is
                # sent; sending the messages one by one isolates the bad ones.
                for index in chunk:
                    await self._attempt(run, key, [index])
                return
            self._apply_error(run, chunk, error)
        except RequestNotSent as error:
            log.warning("devino_send_not_sent", provider=self._provider, reason=str(error))
            run.halt(unreachable(self._provider, str(error)))
            for index in chunk:
                run.set(index, SendOutcome.RETRY, text=f"not sent: {error}")
        except RequestInDoubt as error:
            run.halt(None)
            log.warning(
                "devino_send_in_doubt",
                provider=self._provider,
                messages=len(chunk),
                reason=str(error),
            )
            for index in chunk:
                run.set(index, SendOutcome.IN_DOUBT, text=str(error))
        else:
            self._apply_ids(run, chunk, ids)

    def _apply_error(
        self, run: BatchRun[OutgoingSms], chunk: list[int], error: DevinoApiError
    ) -> None:
        log.warning(
            "devino_send_error",
            provider=self._provider,
            code=error.code,
            text=error.text,
            action=str(error.action),
            messages=len(chunk),
        )
        if error.action is ErrorAction.REJECT:
            outcome = SendOutcome.REJECTED
        else:
            outcome = SendOutcome.RETRY
            if error.action in _CHANNEL_ACTIONS:
                run.halt(channel_error(self._provider, error))
        for index in chunk:
            run.set(index, outcome, code=error.code, text=error.text)

    def _apply_ids(self, run: BatchRun[OutgoingSms], chunk: list[int], ids: list[str]) -> None:
        per_recipient = split_ids(ids, len(chunk))
        if per_recipient is None:
            # spec §2.4: the ids cannot be told apart; the messages went out, untrackable.
            log.warning(
                "devino_ids_unmapped", provider=self._provider, ids=len(ids), recipients=len(chunk)
            )
            text = f"accepted; {len(ids)} ids for {len(chunk)} recipients cannot be mapped"
            for index in chunk:
                run.set(index, SendOutcome.ACCEPTED, text=text)
            return
        for index, segment_ids in zip(chunk, per_recipient, strict=True):
            run.set(index, SendOutcome.ACCEPTED, provider_ids=segment_ids)


async def poll_states(
    provider: str,
    provider_ids: Sequence[str],
    fetch_state: FetchState,
    *,
    concurrency: int,
    now: float,
    submitted_at: Mapping[str, float] | None,
) -> list[StatusReport]:
    """One status request per segment id; ids the provider cannot answer for are left out.

    `submitted_at` (id -> Unix time of the send, as the outbox knows it) lets a 255 answer
    become final UNKNOWN once the 48 h window has passed (spec A27).
    """
    slots = asyncio.Semaphore(max(1, concurrency))

    async def one(provider_id: str) -> StatusReport | None:
        async with slots:
            try:
                code, text = await fetch_state(provider_id)
            except DevinoApiError as error:
                if error.action in _CHANNEL_ACTIONS:
                    raise channel_error(provider, error) from None
                log.warning(
                    "devino_state_error", provider=provider, code=error.code, text=error.text
                )
                return None
            except (RequestNotSent, RequestInDoubt) as error:
                log.warning("devino_state_unanswered", provider=provider, reason=str(error))
                return None
        sent = (submitted_at or {}).get(provider_id)
        age = None if sent is None else now - sent
        known = SMS_STATES.get(code)
        if known is None:
            log.warning("devino_state_undocumented", provider=provider, state=code)
        return StatusReport(
            provider_id=provider_id,
            status=decode_sms_state(code, age_seconds=age),
            code=str(code),
            text=text or (known.description if known else None),
        )

    answers = await asyncio.gather(*(one(i) for i in provider_ids), return_exceptions=True)
    for answer in answers:
        if isinstance(answer, BaseException):
            raise answer
    return [a for a in answers if isinstance(a, StatusReport)]
