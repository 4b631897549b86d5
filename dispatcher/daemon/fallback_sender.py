"""Send messages through the fallback providers (HTTP/XML/SOAP APIs) in batches.

A route names its providers in order. A message goes to the first one that is not paused;
when a provider answers RETRY for it, the next one in the route's list gets it; when every
provider is used up it goes back to the queue. A message a provider REJECTED (bad number, bad
text) is final and never sent anywhere else. A `ChannelError` (credentials, money, outage)
pauses that provider — for good when it is permanent (an operator must act) — and its batch
moves on to the next provider.

Requests whose answer never came (IN_DOUBT) are settled the way each API allows
(`resolve_in_doubt`: Webcom resends under the same id, Mobipace and the Devino XML API look
the message up, Devino REST/SOAP cannot tell); what stays in doubt follows the route's
in-doubt policy: sent again, or final `unknown`.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import structlog

from dispatcher.clock import Clock
from dispatcher.daemon.results import ResultSinks
from dispatcher.fallback.base import (
    ChannelError,
    FallbackSender,
    OutgoingSms,
    SendOutcome,
    SendResult,
)
from dispatcher.metrics import Metrics
from dispatcher.outbox.records import Submission, SubmittedPart
from dispatcher.outbox.validation import ValidatedMessage
from dispatcher.status import MessageStatus
from dispatcher.tasks import cancel_and_wait

log = structlog.get_logger()

# A provider that failed without saying for how long rests this long.
DEFAULT_CHANNEL_PAUSE_SECONDS = 60.0
# Messages wait this long for companions before a batch goes out (an idle route still sends
# a single message within a loop tick or two; a busy one fills batches).
BATCH_LINGER_SECONDS = 0.02


@dataclass(frozen=True, slots=True)
class FallbackRoute:
    name: str
    providers: tuple[str, ...]  # in order of preference
    source: str | None
    validity: int
    in_doubt_resend: bool


@dataclass(slots=True)
class _Item:
    message: ValidatedMessage
    route: FallbackRoute
    tried: int  # providers of route.providers already used up
    last_problem: str = ""  # what the last provider said, for the row's error_text


class FallbackDispatcher:
    def __init__(
        self,
        senders: dict[str, FallbackSender],
        sinks: ResultSinks,
        metrics: Metrics,
        clock: Clock,
        on_settled: Callable[[int], None],
    ) -> None:
        self.senders = senders
        self._sinks = sinks
        self._metrics = metrics
        self._clock = clock
        self._on_settled = on_settled
        self._queues: dict[str, deque[_Item]] = {name: deque() for name in senders}
        self._wake: dict[str, asyncio.Event] = {name: asyncio.Event() for name in senders}
        self._paused_until: dict[str, float] = {}
        self._disabled: set[str] = set()
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._drain(name), name=f"fallback-{name}")
            for name in self.senders
        ]

    async def close(self) -> None:
        for task in self._tasks:
            await cancel_and_wait(task)
        for name, queue in self._queues.items():
            while queue:
                item = queue.popleft()
                self._release(item, f"not sent: the daemon stopped before {name} took it")
        await asyncio.gather(*(sender.close() for sender in self.senders.values()))

    def available(self, name: str) -> bool:
        return name not in self._disabled and self._clock.monotonic() >= self._paused_until.get(
            name, float("-inf"))

    def can_take(self, route: FallbackRoute) -> bool:
        return any(self.available(name) for name in route.providers)

    @property
    def held(self) -> int:
        return sum(len(queue) for queue in self._queues.values())

    def send(self, message: ValidatedMessage, route: FallbackRoute) -> None:
        self._forward(_Item(message, route, 0))

    def _forward(self, item: _Item) -> None:
        """To the first provider of the route not yet used up and not paused."""
        providers = item.route.providers
        while item.tried < len(providers):
            name = providers[item.tried]
            if self.available(name):
                self._queues[name].append(item)
                self._wake[name].set()
                return
            item.tried += 1
        problem = f" (last: {item.last_problem})" if item.last_problem else ""
        self._release(item, f"no fallback provider is available{problem}")

    async def _drain(self, name: str) -> None:
        sender = self.senders[name]
        queue = self._queues[name]
        wake = self._wake[name]
        while True:
            await wake.wait()
            wake.clear()
            await asyncio.sleep(BATCH_LINGER_SECONDS)
            while queue:
                batch = [queue.popleft() for _ in range(min(len(queue), sender.max_batch))]
                await self._send_batch(name, sender, batch)

    async def _send_batch(self, name: str, sender: FallbackSender, batch: list[_Item]) -> None:
        outgoing = [self._outgoing(item) for item in batch]
        try:
            results = await sender.send_batch(outgoing)
        except ChannelError as problem:
            self._metrics.fallback_requests.labels(name, "channel_error").inc(len(batch))
            self._pause(name, problem)
            for item in batch:
                item.tried += 1
                item.last_problem = f"{name}: {problem}"
                self._forward(item)
            return
        except Exception:  # a bug in a client must not stop the daemon or lose the batch
            log.exception("fallback_send_failed", provider=name, messages=len(batch))
            for item in batch:
                self._release(item, f"{name}: unexpected client error")
            return
        in_doubt = []
        for item, result in zip(batch, results, strict=True):
            self._metrics.fallback_requests.labels(name, result.outcome.value).inc()
            if result.outcome is SendOutcome.IN_DOUBT:
                in_doubt.append(item)
            else:
                self._apply(name, item, result)
        if in_doubt:
            await self._settle_in_doubt(name, sender, in_doubt)

    async def _settle_in_doubt(
        self, name: str, sender: FallbackSender, items: Sequence[_Item]
    ) -> None:
        try:
            resolved = await sender.resolve_in_doubt([self._outgoing(i) for i in items])
        except Exception as problem:  # the lookup itself failed: nothing more is known
            log.warning("fallback_in_doubt_unresolved", provider=name, error=str(problem))
            resolved = [SendResult(self._key(i), SendOutcome.IN_DOUBT) for i in items]
        for item, result in zip(items, resolved, strict=True):
            if result.outcome is SendOutcome.RETRY:
                self._queues[name].append(item)  # safe to send again here (e.g. same id)
                self._wake[name].set()
            elif result.outcome is SendOutcome.IN_DOUBT:
                if item.route.in_doubt_resend:
                    self._release(item, f"{name}: no answer, sent again (in doubt)")
                else:
                    self._final(name, item, MessageStatus.UNKNOWN, result.code,
                                f"{name}: no answer to the send request (in doubt)")
            else:
                self._apply(name, item, result)

    def _apply(self, name: str, item: _Item, result: SendResult) -> None:
        outcome = result.outcome
        if outcome is SendOutcome.ACCEPTED:
            self._sinks.submitted(Submission(
                outbox_id=item.message.id,
                provider=name,
                parts=tuple(
                    SubmittedPart(part_index=index, account=name, message_id=provider_id,
                                  raw_message_id=provider_id)
                    for index, provider_id in enumerate(result.provider_ids, start=1)
                ),
            ), item.route.name)
            self._on_settled(item.message.id)
        elif outcome is SendOutcome.REJECTED:
            self._final(name, item, MessageStatus.REJECTED, result.code, result.text)
        else:  # RETRY: the next provider of the route, or the queue
            item.tried += 1
            item.last_problem = f"{name}: {result.code or ''} {result.text or ''}".strip()
            self._forward(item)

    def _pause(self, name: str, problem: ChannelError) -> None:
        if problem.permanent:
            self._disabled.add(name)
            log.error("fallback_provider_disabled", provider=name, reason=str(problem),
                      code=problem.code)
            return
        pause = problem.retry_after or DEFAULT_CHANNEL_PAUSE_SECONDS
        self._paused_until[name] = self._clock.monotonic() + pause
        log.warning("fallback_provider_paused", provider=name, seconds=pause,
                    reason=str(problem), code=problem.code)

    def _outgoing(self, item: _Item) -> OutgoingSms:
        message = item.message
        return OutgoingSms(
            key=self._key(item),
            source=message.source or item.route.source or "",
            destination=message.destination,
            body=message.body,
            validity_seconds=message.validity or item.route.validity,
        )

    @staticmethod
    def _key(item: _Item) -> str:
        return str(item.message.id)

    def _final(
        self, name: str, item: _Item, status: MessageStatus, code: str | None, text: str | None
    ) -> None:
        self._sinks.final(item.message.id, status, code, text, name, item.route.name)
        self._on_settled(item.message.id)

    def _release(self, item: _Item, text: str) -> None:
        self._sinks.release(item.message.id, text)
        self._on_settled(item.message.id)
