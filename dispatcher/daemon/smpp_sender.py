"""Send validated outbox rows through one account's SMPP pool and turn outcomes into results.

The pool answers every message once with a `SubmitOutcome`; this module maps it onto the
outbox: accepted -> `submitted` with its parts' ids, rejected -> final `rejected` (never sent
again by any route, seed 004_80a28bca441860d4.txt L2959-2960), retries used up -> `failed`
(or the route's fallback), in doubt -> the route's in-doubt policy, not sent -> back to the
queue.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import structlog

from dispatcher.daemon.results import ResultSinks
from dispatcher.outbox.records import Submission, SubmittedPart
from dispatcher.outbox.validation import ValidatedMessage
from dispatcher.smpp.errors import PoolClosed, PoolQueueFull
from dispatcher.smpp.outcome import OutcomeKind, SubmitOutcome, SubmitRequest
from dispatcher.smpp.pool import SmppPool
from dispatcher.status import MessageStatus
from pdu.constants import status_description
from pdu.message_id import normalize_message_id
from pdu.segmentation import split_text

log = structlog.get_logger()

@dataclass(frozen=True, slots=True)
class SmppRoute:
    """What one route needs to know to send over its SMPP account."""

    name: str
    account: str
    source: str | None  # the sender when the row has none
    validity: int  # seconds, when the row has none
    in_doubt_resend: bool
    split: str  # udh | udh16 | sar | payload
    coding: str
    message_id_mode: str  # how the SMSC writes ids in submit_sm_resp


# Hands a message whose SMPP retries are used up to another route; True when taken (the
# taker then settles it).
Divert = Callable[[ValidatedMessage, str, SubmitOutcome], bool]


class SmppSender:
    def __init__(
        self,
        pool: SmppPool,
        sinks: ResultSinks,
        on_settled: Callable[[int], None],
        divert: Divert | None = None,
    ) -> None:
        self.pool = pool
        self._sinks = sinks
        self._on_settled = on_settled
        self._divert = divert

    def send(self, message: ValidatedMessage, route: SmppRoute) -> None:
        """Hand one message to the pool; the outcome is written when it comes. A full pool
        sends the message back to the queue (the claimer keeps within the pool's room, so
        that only happens in a race)."""
        source = message.source or route.source or ""
        # The concatenation reference comes from the outbox id: unique among the messages in
        # flight to one handset unless 256 (65536 for udh16/sar) ids apart, stable across
        # restarts and resends, so a resent part joins its own message (specs §1.5).
        parts = split_text(message.body, method=route.split, reference=message.id,
                           coding=route.coding)
        request = SubmitRequest(
            key=message.id,
            source=source,
            destination=message.destination,
            parts=parts,
            validity_seconds=message.validity or route.validity,
        )
        try:
            self.pool.post(request, lambda outcome: self._settle(message, route, outcome))
        except (PoolClosed, PoolQueueFull) as refused:
            self._sinks.release(message.id, f"not sent: {refused}")
            self._on_settled(message.id)

    def _settle(self, message: ValidatedMessage, route: SmppRoute, outcome: SubmitOutcome) -> None:
        provider = f"smpp:{route.account}"
        kind = outcome.kind
        if kind is OutcomeKind.ACCEPTED:
            self._sinks.submitted(self._submission(message.id, provider, outcome, route),
                                  route.name)
        elif kind is OutcomeKind.REJECTED:
            self._final(message.id, MessageStatus.REJECTED, outcome, provider, route)
        elif kind is OutcomeKind.FAILED_RETRYABLE:
            if self._divert is not None and self._divert(message, route.name, outcome):
                return  # another route carries it now and settles it
            self._final(message.id, MessageStatus.FAILED, outcome, provider, route)
        elif kind is OutcomeKind.IN_DOUBT:
            if route.in_doubt_resend:
                self._sinks.release(message.id, f"in doubt, sent again: {outcome.reason}",
                              outcome.status_name)
            else:
                self._final(message.id, MessageStatus.UNKNOWN, outcome, provider, route)
        else:
            self._sinks.release(message.id, f"not sent: {outcome.reason}", outcome.status_name)
        self._on_settled(message.id)

    @staticmethod
    def _submission(
        outbox_id: int, provider: str, outcome: SubmitOutcome, route: SmppRoute
    ) -> Submission:
        # positional NamedTuples and a list, not keywords and a generator: once per message
        account, mode = route.account, route.message_id_mode
        parts = [
            SubmittedPart(part.number, account, normalize_message_id(part.message_id, mode),
                          part.message_id)
            for part in outcome.parts
            if part.message_id is not None
        ]
        return Submission(outbox_id, provider, tuple(parts))

    def _final(
        self, outbox_id: int, status: MessageStatus, outcome: SubmitOutcome, provider: str,
        route: SmppRoute,
    ) -> None:
        code = outcome.command_status
        if code is None:
            error_code, error_text = None, outcome.reason or status.value
        else:
            error_code = f"0x{code:08X}"
            error_text = f"{outcome.status_name}: {status_description(code)}"
            if outcome.reason:
                error_text += f" ({outcome.reason})"
        self._sinks.final(outbox_id, status, error_code, error_text, provider, route.name)
