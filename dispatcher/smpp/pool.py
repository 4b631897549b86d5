"""All sessions of one provider account, the queue of messages waiting for them, and the
provider's error rules.

    pool = SmppPool(settings, clock=clock, on_inbound=handle_receipt_or_mo)
    await pool.start()
    future = await pool.submit(SubmitRequest(key=row_id, source="Shop", destination=...,
                                             parts=split_text(text)))
    outcome = await future            # SubmitOutcome: ACCEPTED, REJECTED, ...
    await pool.close(timeout=10)

How work flows: `submit` encodes every part once and appends the message to a deque. Sessions
pull from it synchronously when their window has room (after a bind, on each batch of
responses, and once per loop tick after new submits), so there is no task or coroutine per
message and outcomes are delivered straight from `data_received`: to a future per message,
or, with `post`, to a callback (the fastest way: no future, no extra loop callback).

Error rules (seed 004_80a28bca441860d4.txt; the full table is in status_policy.py):
- ESME_RINVDSTADR (L2959-2960): REJECTED, final; the message is never sent again anywhere.
- ESME_RTHROTTLED (L2962-2963): the message goes back to the head of the queue and that one
  session sends nothing for `throttle_pause` (1 s); the others carry on.
- ESME_RMSGQFUL (L2965-2969): the message waits 5 s, 15 s, 45 s, ... (x3) and then goes to the
  end of the queue; after `queue_full_max_attempts` more tries it is FAILED_RETRYABLE.
- transient statuses: retried after `transient_retry_delays`, then FAILED_RETRYABLE.
- written but unanswered (response timeout, connection lost): IN_DOUBT, never resent here.

Multipart messages (L2955-2957): all parts go on one session, in order. Once a part is
accepted the message is pinned to that session: a retry of its other parts waits for that
session, unless the session is gone, in which case any session of the account (same
system_id, which is what the seed requires) takes it.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable

import structlog

from dispatcher.clock import Clock, SystemClock
from dispatcher.smpp.errors import PoolClosed, PoolQueueFull, QueryFailed
from dispatcher.smpp.job import Job, PartTicket, SubmitEncoder, Verdict
from dispatcher.smpp.observer import EngineObserver
from dispatcher.smpp.outcome import OutcomeKind, SubmitOutcome, SubmitRequest
from dispatcher.smpp.rate_limit import TokenBucket
from dispatcher.smpp.session import InboundFrameReader, InboundHandler, SmppSession
from dispatcher.smpp.session_info import SessionInfo
from dispatcher.smpp.settings import AccountSettings
from dispatcher.smpp.slot import ReturnToPrimary, SlotRunner
from dispatcher.smpp.slot_guard import AlwaysGranted, SlotGuard
from dispatcher.smpp.status_policy import StatusAction, StatusPolicy
from dispatcher.smpp.timers import AtLeastTimer
from pdu import pdus
from pdu.codec import encode, response_message_id
from pdu.constants import CommandStatus, status_name
from pdu.errors import PDUError

log = structlog.get_logger(__name__)

# An Enum member lookup costs 0.2-0.5 µs on Python 3.11: the per-message path uses this alias.
_ACCEPTED = OutcomeKind.ACCEPTED
_VERDICT_BY_ACTION: dict[StatusAction, int] = {
    StatusAction.THROTTLE: Verdict.THROTTLED,
    StatusAction.QUEUE_FULL: Verdict.QUEUE_FULL,
    StatusAction.TRANSIENT: Verdict.TRANSIENT,
    StatusAction.PERMANENT: Verdict.REJECTED,
}


class _SlotWork:
    """The work side of one slot: the message it is sending, retries pinned to it, its rate."""

    __slots__ = ("bucket", "current", "index", "pinned", "session", "wake_handle")

    def __init__(self, index: int, bucket: TokenBucket | None) -> None:
        self.index = index
        self.session: SmppSession | None = None  # the bound session, if any
        self.current: Job | None = None  # the message whose parts this slot is writing
        self.pinned: deque[Job] = deque()  # retries of messages with parts accepted here
        self.bucket = bucket
        self.wake_handle: asyncio.TimerHandle | None = None


class _QueryTicket:
    """One query_sm in a session's window."""

    __slots__ = ("frame", "future", "sent_at")

    def __init__(self, frame: bytes, future: asyncio.Future[pdus.QuerySmResp]) -> None:
        self.frame = frame
        self.future = future
        self.sent_at = 0.0

    def on_response(self, session: SmppSession, command_status: int, frame: bytes) -> None:
        if self.future.done():
            return
        pdu = session.decode_response(frame)
        if command_status != CommandStatus.ESME_ROK:
            self.future.set_exception(
                QueryFailed(f"query_sm refused: {status_name(command_status)}", command_status)
            )
        elif not isinstance(pdu, pdus.QuerySmResp):
            self.future.set_exception(QueryFailed("query_sm answered with an unreadable PDU"))
        else:
            self.future.set_result(pdu)

    def on_lost(self, session: SmppSession, written: bool, reason: str) -> None:
        if not self.future.done():
            self.future.set_exception(QueryFailed(f"query_sm unanswered: {reason}"))


class SmppPool:
    def __init__(
        self,
        settings: AccountSettings,
        *,
        clock: Clock | None = None,
        on_inbound: InboundHandler | None = None,
        read_inbound_frame: InboundFrameReader | None = None,
        observer: EngineObserver | None = None,
        slot_guard: SlotGuard | None = None,
        first_sequence: int = 1,
    ) -> None:
        self.settings = settings
        self._clock = clock or SystemClock()
        self._on_inbound = on_inbound
        self._read_inbound_frame = read_inbound_frame
        self._observer = observer or EngineObserver()
        self._guard = slot_guard or AlwaysGranted()
        self._first_sequence = first_sequence
        self._policy = StatusPolicy(settings.status_overrides)
        self._encoder = SubmitEncoder(settings)
        self._queue: deque[Job] = deque()
        self._queries: deque[_QueryTicket] = deque()
        self._query_bucket = TokenBucket(settings.query_rate_limit, self._clock.monotonic)
        self._query_wake: asyncio.TimerHandle | None = None
        self._delayed: dict[Job, AtLeastTimer] = {}
        self._held = 0  # messages admitted and not yet resolved
        # submit() waiters wake together once the pool is this low again, not one per answer:
        # a task switch per message would cost more than the message itself.
        self._low_water = settings.max_queue - max(1, settings.max_queue // 10)
        self._room_waiters: deque[asyncio.Future[None]] = deque()
        self._dispatch_handle: asyncio.Handle | None = None
        self._rotation = 0
        self._closing = False
        self._started = False
        self._unbound_since: float | None = None
        rate = settings.rate_limit
        self._work = [
            _SlotWork(i, TokenBucket(rate, self._clock.monotonic) if rate else None)
            for i in range(len(settings.bind_modes))
        ]
        self._senders: list[_SlotWork] = []  # slots with a bound tx/trx session
        self._returning = ReturnToPrimary()
        self._runners: list[SlotRunner] = []
        self._dropping: set[asyncio.Future[None]] = set()

    # ---- life cycle --------------------------------------------------------------------------

    async def start(self) -> None:
        """Start every slot; returns at once (binding happens in the background)."""
        if self._started:
            raise RuntimeError("the pool was already started")
        self._started = True
        self._unbound_since = self._clock.monotonic()
        for index, mode in enumerate(self.settings.bind_modes):
            runner = SlotRunner(
                self.settings,
                index,
                mode,
                clock=self._clock,
                guard=self._guard,
                observer=self._observer,
                open_session=self._open_session,
                on_bound=self._session_bound,
                returning=self._returning,
            )
            self._runners.append(runner)
            runner.start()

    async def close(self, timeout: float = 10.0) -> None:
        """Stop taking work; messages not yet written come back NOT_SENT; every session waits
        up to `timeout` for its outstanding answers, unbinds and closes; what is still in a
        window then is IN_DOUBT."""
        if self._closing:
            return
        self._closing = True
        for handle in (self._dispatch_handle, self._query_wake):
            if handle is not None:
                handle.cancel()
        for job, timer in list(self._delayed.items()):
            timer.cancel()
            self._resolve(job, OutcomeKind.NOT_SENT, "the pool closed before a retry")
        self._delayed.clear()
        for work in self._work:
            if work.wake_handle is not None:
                work.wake_handle.cancel()
            self._give_back(work)
        while self._queue:
            self._resolve(self._queue.popleft(), OutcomeKind.NOT_SENT, "the pool closed")
        while self._queries:
            ticket = self._queries.popleft()
            if not ticket.future.done():
                ticket.future.set_exception(PoolClosed("the pool closed"))
        for waiter in self._room_waiters:
            if not waiter.done():
                waiter.set_result(None)
        for runner in self._runners:
            runner.stop()
        sessions = [r.session for r in self._runners if r.session is not None]
        await asyncio.gather(
            *(s.close(timeout, "pool closing") for s in sessions), return_exceptions=True
        )
        await asyncio.gather(*(r.wait_stopped() for r in self._runners), return_exceptions=True)

    async def _open_session(self, info: SessionInfo) -> SmppSession:
        return await SmppSession.open(
            self.settings,
            info,
            clock=self._clock,
            source=self,
            on_inbound=self._on_inbound,
            read_inbound_frame=self._read_inbound_frame,
            on_closed=self._session_closed,
            observer=self._observer,
            first_sequence=self._first_sequence,
        )

    def _session_bound(self, session: SmppSession) -> None:
        work = self._work[session.info.slot]
        work.session = session
        if session.info.mode.can_submit:
            self._senders.append(work)
            self._unbound_since = None
            self._schedule_dispatch()

    def _session_closed(self, session: SmppSession) -> None:
        work = self._work[session.info.slot]
        if work.session is not session:
            return  # a session that never bound
        work.session = None
        if work.wake_handle is not None:
            work.wake_handle.cancel()
            work.wake_handle = None
        if work in self._senders:
            self._senders.remove(work)
            if not self._senders:
                self._unbound_since = self._clock.monotonic()
        self._give_back(work)
        self._schedule_dispatch()

    def _give_back(self, work: _SlotWork) -> None:
        """The slot can no longer send: its current message and pinned retries go back."""
        job = work.current
        work.current = None
        if job is not None:
            job.halt(Verdict.REQUEUE, "the session closed")
            if job.settled:
                self._settle(job)
        while work.pinned:
            pinned = work.pinned.pop()
            if self._closing:
                self._resolve(pinned, OutcomeKind.NOT_SENT, "the pool closed")
            else:
                self._queue.appendleft(pinned)

    # ---- state for the layer above -----------------------------------------------------------

    @property
    def all_attempted(self) -> bool:
        """Every slot has finished one connect-and-bind attempt (bound or refused)."""
        return all(runner.attempted for runner in self._runners)

    @property
    def bound_sessions(self) -> int:
        """Bound sessions that can submit (tx or trx)."""
        return len(self._senders)

    @property
    def sessions(self) -> tuple[SessionInfo, ...]:
        """Every bound session, any mode."""
        return tuple(w.session.info for w in self._work if w.session is not None)

    @property
    def unbound_since(self) -> float | None:
        """Clock time since when no tx/trx session has been bound; None while one is."""
        return self._unbound_since

    @property
    def held(self) -> int:
        """Messages in the pool: queued, waiting for a retry, or in a window."""
        return self._held

    @property
    def queued(self) -> int:
        return len(self._queue) + sum(len(w.pinned) for w in self._work)

    # ---- submitting --------------------------------------------------------------------------

    async def wait_for_room(self) -> None:
        """Return once the pool holds fewer than `max_queue` messages (at once if it does), or
        once it is closing."""
        while self._held >= self.settings.max_queue and not self._closing:
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._room_waiters.append(waiter)
            await waiter

    async def submit(self, request: SubmitRequest) -> asyncio.Future[SubmitOutcome]:
        """Admit a message, waiting while the pool holds `max_queue` messages; the future
        resolves with its outcome. PoolClosed once the pool is closing. A producer with many
        messages calls `submit_nowait` or `post` until PoolQueueFull, then `wait_for_room`."""
        await self.wait_for_room()
        return self.submit_nowait(request)

    def submit_nowait(self, request: SubmitRequest) -> asyncio.Future[SubmitOutcome]:
        """Admit a message now; PoolQueueFull when the pool holds `max_queue` messages."""
        future: asyncio.Future[SubmitOutcome] = asyncio.get_running_loop().create_future()
        self._admit(request, future, None)
        return future

    def post(self, request: SubmitRequest, on_outcome: Callable[[SubmitOutcome], None]) -> None:
        """The fastest way in (no future per message): admit now, as `submit_nowait`, and call
        `on_outcome(outcome)` on the loop once the outcome is known. It must not block; an
        exception from it is logged and ignored."""
        self._admit(request, None, on_outcome)

    def _admit(
        self,
        request: SubmitRequest,
        future: asyncio.Future[SubmitOutcome] | None,
        on_outcome: Callable[[SubmitOutcome], None] | None,
    ) -> None:
        if self._closing:
            raise PoolClosed(f"account {self.settings.name!r}: the pool is closing")
        if self._held >= self.settings.max_queue:
            raise PoolQueueFull(f"account {self.settings.name!r}: {self._held} messages held")
        self._held += 1
        try:
            frames = self._encoder.encode(request)
        except (ValueError, PDUError) as exc:
            job = Job(request, [], self, future, on_outcome)
            # on the next tick, so that a callback never runs inside post()
            asyncio.get_running_loop().call_soon(
                self._resolve, job, OutcomeKind.REJECTED, f"invalid request: {exc}"
            )
            return
        self._queue.append(Job(request, frames, self, future, on_outcome))
        if self._dispatch_handle is None:
            self._dispatch_handle = asyncio.get_running_loop().call_soon(self._dispatch)

    async def send(self, request: SubmitRequest) -> SubmitOutcome:
        """`submit` and wait for the outcome."""
        return await (await self.submit(request))

    # ---- the work source sessions pull from (the hot path) -----------------------------------

    def pull(self, session: SmppSession) -> PartTicket | _QueryTicket | None:
        work = self._work[session.info.slot]
        if work.session is not session or self._closing:
            return None
        if self._queries:
            query = self._pull_query()
            if query is not None:
                return query
        job = work.current
        if job is None:
            if work.pinned:
                job = work.pinned.popleft()
            elif self._queue:
                job = self._queue.popleft()
            else:
                return None
            job.begin_attempt()
            work.current = job
        bucket = work.bucket
        if bucket is not None:
            wait = bucket.take()
            if wait > 0:
                if work.wake_handle is None:
                    work.wake_handle = self._clock.call_later(wait, self._wake, work)
                return None
        ticket = job.take_part()
        if not job.has_unsent:
            work.current = None
        return ticket

    def _wake(self, work: _SlotWork) -> None:
        work.wake_handle = None
        if work.session is not None:
            work.session.fill()

    def _schedule_dispatch(self) -> None:
        if self._dispatch_handle is None and not self._closing:
            self._dispatch_handle = asyncio.get_running_loop().call_soon(self._dispatch)

    def _dispatch(self) -> None:
        """Let every sending session pull, starting with a different one each time."""
        self._dispatch_handle = None
        senders = self._senders
        count = len(senders)
        if not count:
            return
        self._rotation = (self._rotation + 1) % count
        for i in range(count):
            session = senders[(self._rotation + i) % count].session
            if session is not None:
                session.fill()

    # ---- answers (called from the sessions) --------------------------------------------------

    def part_answered(
        self, ticket: PartTicket, session: SmppSession, command_status: int, frame: bytes
    ) -> None:
        job = ticket.job
        info = session.info
        # the latency up to the read that brought the answer (no clock call per answer)
        self._observer.submit_response(info, command_status, session.last_inbound - ticket.sent_at)
        if command_status == 0:
            try:
                message_id = response_message_id(frame)
            except PDUError as exc:
                log.warning("smpp.undecodable_response", session=str(info), error=str(exc))
                message_id = ""
            if not message_id:
                log.warning("smpp.accepted_without_message_id", session=str(info))
            if job.accepted(ticket, info, message_id):
                self._settle(job)
            return
        action = self._policy.action(command_status)
        verdict = _VERDICT_BY_ACTION.get(action, Verdict.REJECTED)
        job.refused(ticket, info, command_status, verdict)
        if verdict == Verdict.THROTTLED:
            session.pause(self.settings.throttle_pause)  # seed L2962-2963
        work = self._work[info.slot]
        if work.current is job:
            work.current = None
        if job.settled:
            self._settle(job)

    def part_lost(
        self, ticket: PartTicket, session: SmppSession, written: bool, reason: str
    ) -> None:
        job = ticket.job
        job.lost(ticket, session.info, written, reason)
        work = self._work[session.info.slot]
        if work.current is job:
            work.current = None
        if job.settled:
            self._settle(job)

    def _settle(self, job: Job) -> None:
        verdict = job.verdict
        if verdict == Verdict.NONE:
            self._resolve(job, _ACCEPTED)
        elif verdict == Verdict.REJECTED:
            self._resolve(job, OutcomeKind.REJECTED)
        elif verdict == Verdict.IN_DOUBT:
            self._resolve(job, OutcomeKind.IN_DOUBT)
        elif self._closing:
            self._resolve(job, OutcomeKind.NOT_SENT, "the pool closed before a retry")
        elif verdict == Verdict.QUEUE_FULL:
            job.queue_full_count += 1
            if job.queue_full_count > self.settings.queue_full_max_attempts:
                self._resolve(job, OutcomeKind.FAILED_RETRYABLE, "queue full: attempts used up")
                return
            delay = self.settings.queue_full_delay(job.queue_full_count)  # seed L2967-2969
            self._observer.queue_full_retry(job.request.key, job.queue_full_count, delay)
            self._retry_later(job, delay)
        elif verdict == Verdict.TRANSIENT:
            delays = self.settings.transient_retry_delays
            job.transient_count += 1
            if job.transient_count > len(delays):
                self._resolve(job, OutcomeKind.FAILED_RETRYABLE, "transient: retries used up")
                return
            delay = delays[job.transient_count - 1]
            self._observer.transient_retry(job.request.key, job.decisive_status or 0, delay)
            self._retry_later(job, delay)
        else:  # THROTTLED (seed L2962-2963) or REQUEUE: back to the head of the queue
            self._requeue(job, at_head=True)

    def _retry_later(self, job: Job, delay: float) -> None:
        self._delayed[job] = AtLeastTimer(self._clock, delay, self._retry_now, job)

    def _retry_now(self, job: Job) -> None:
        del self._delayed[job]
        self._requeue(job, at_head=False)  # seed L2965-2966: to the end of the queue

    def _requeue(self, job: Job, *, at_head: bool) -> None:
        pinned = job.pinned_slot
        target = self._queue
        if pinned is not None and self._work[pinned].session is not None:
            target = self._work[pinned].pinned
        if at_head:
            target.appendleft(job)
        else:
            target.append(job)
        self._schedule_dispatch()

    def _resolve(self, job: Job, kind: OutcomeKind, reason: str = "") -> None:
        if job.finished:
            return
        job.finished = True
        self._held -= 1
        outcome = job.outcome(kind, reason)
        # A job and its tickets refer to each other. Letting go of the tickets now (none is in
        # a window any more) has reference counting free the message's objects at once;
        # otherwise every message was cyclic garbage, and finding it took the collector 6 %
        # of the daemon's CPU.
        job.tickets.clear()
        if job.on_outcome is not None:
            try:
                job.on_outcome(outcome)
            except Exception:
                log.exception("smpp.outcome_callback_failed", key=repr(job.request.key))
        elif job.future is not None and not job.future.done():  # it may have been cancelled
            job.future.set_result(outcome)
        if self._room_waiters and self._held <= self._low_water:
            for waiter in self._room_waiters:
                if not waiter.done():
                    waiter.set_result(None)
            self._room_waiters.clear()

    def drop_session(self, slot: int, reason: str) -> None:
        """Close one slot's session gracefully (e.g. its session lock across daemons was
        lost); the slot reconnects under the usual rules, asking its guard again."""
        runner = self._runners[slot] if 0 <= slot < len(self._runners) else None
        if runner is not None and runner.session is not None:
            log.warning("smpp.session_dropped", session=str(runner.session.info), reason=reason)
            task = asyncio.ensure_future(
                runner.session.close(self.settings.response_timeout, reason))
            self._dropping.add(task)  # held until done: the loop keeps only weak references
            task.add_done_callback(self._dropping.discard)

    def set_rate_limit(self, rate: float | None) -> None:
        """Change the per-session submit rate (messages/s; None: unlimited) without touching
        the binds (a configuration reload)."""
        for work in self._work:
            work.bucket = TokenBucket(rate, self._clock.monotonic) if rate else None
        self._schedule_dispatch()

    def withdraw_unsent(self, reason: str) -> int:
        """Give back (NOT_SENT) every queued message of which no part was ever written, so
        the layer above can send it another way, e.g. through a fallback provider once the
        account has been without a session for too long. Messages in a window, waiting out
        a retry delay, or partly sent stay here. Returns how many were given back."""
        kept: deque[Job] = deque()
        withdrawn: list[Job] = []
        for job in self._queue:
            (withdrawn if job.attempts == 0 and not job.in_flight else kept).append(job)
        self._queue = kept
        for job in withdrawn:
            self._resolve(job, OutcomeKind.NOT_SENT, reason)
        return len(withdrawn)

    # ---- query_sm (seed L2974-2975: supported; the rate is ours to set) ----------------------

    async def query(
        self,
        message_id: str,
        source: str,
        *,
        source_ton: int | None = None,
        source_npi: int | None = None,
    ) -> pdus.QuerySmResp:
        """query_sm on a bound session under the account's query rate limit. Raises
        QueryFailed (not bound, refused, unanswered) or PoolClosed."""
        if self._closing:
            raise PoolClosed(f"account {self.settings.name!r}: the pool is closing")
        if not self._senders:
            raise QueryFailed("no bound session that can send query_sm")
        request = pdus.QuerySm(
            message_id=message_id,
            source_addr_ton=self.settings.source_ton if source_ton is None else source_ton,
            source_addr_npi=self.settings.source_npi if source_npi is None else source_npi,
            source_addr=source,
        )
        try:
            frame = encode(request)
        except PDUError as exc:
            raise QueryFailed(f"invalid query: {exc}") from None
        future: asyncio.Future[pdus.QuerySmResp] = asyncio.get_running_loop().create_future()
        self._queries.append(_QueryTicket(frame, future))
        self._schedule_dispatch()
        return await future

    def _pull_query(self) -> _QueryTicket | None:
        wait = self._query_bucket.take()
        if wait > 0:
            if self._query_wake is None:
                self._query_wake = self._clock.call_later(wait, self._query_woken)
            return None
        return self._queries.popleft()

    def _query_woken(self) -> None:
        self._query_wake = None
        self._dispatch()
