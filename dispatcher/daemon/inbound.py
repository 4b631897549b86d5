"""What arrives from the SMSC: delivery receipts and incoming (MO) messages.

Every deliver_sm/data_sm is answered with status 0 (seed 004_80a28bca441860d4.txt
L2932-2934); nothing here may block or raise back into the session. Receipts and whole MO
messages become records for the batch writers, and the handler returns the writer's `stored()`
future: the session holds the answer until the record is in PostgreSQL (a few milliseconds;
`inbound_ack_timeout` at most), so after a crash the SMSC delivers again what was not stored
instead of it being lost. A part of an unfinished multipart MO is answered at once (it lives
in memory until its set is complete).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, NamedTuple

import structlog

from dispatcher.clock import Clock
from dispatcher.daemon.batch_writer import BatchWriter
from dispatcher.fast_metrics import CounterChild
from dispatcher.metrics import Metrics
from dispatcher.outbox.incoming import dedupe_key
from dispatcher.outbox.receipt_states import status_for_state
from dispatcher.outbox.records import CorrelationRecord, IncomingMessage, ReceiptRecord
from dispatcher.smpp.session import FRAME_NOT_READ
from dispatcher.smpp.session_info import SessionInfo
from dispatcher.status import MessageStatus
from pdu.fast_tuple import new_record
from pdu.message_id import message_id_normalizer
from pdu.reassembly import Reassembler, concat_info, split_udh
from pdu.receipt import receipt_outcome_from_pdu
from pdu.receipt_frame import ReceiptOutcome, receipt_outcome_from_frame
from pdu.text import decode_text

log = structlog.get_logger()

# Incomplete multipart MO sets are dropped after this long (the parts of one message arrive
# within seconds; a day covers an SMSC that holds some of them back).
MO_REASSEMBLY_TTL_SECONDS = 86400.0
_ESM_UDHI = 0x40

class _ReceiptKind(NamedTuple):
    """What the receipts of one account and state share."""

    counter: CounterChild  # smpp_dispatcher_receipts_total{account, state}
    status: MessageStatus  # what the state means for the part
    normalize: Callable[[str], str]  # the account's receipt id form


class InboundHandler:
    def __init__(
        self,
        *,
        receipt_id_modes: Mapping[str, str],
        receipts: BatchWriter[CorrelationRecord],
        incoming: BatchWriter[IncomingMessage],
        metrics: Metrics,
        clock: Clock,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._modes = receipt_id_modes
        self._receipts = receipts
        self._incoming = incoming
        self._metrics = metrics
        self._now = now
        self._reassembler = Reassembler(MO_REASSEMBLY_TTL_SECONDS, clock.monotonic)
        # what every receipt of an (account, state) needs, looked up once: this runs for every
        # receipt, and a labels() call alone would cost more than recording it
        self._receipt_kinds: dict[tuple[str, str | None], _ReceiptKind] = {}
        # the time a receipt was received, taken anew only when the loop's clock has moved
        # (uvloop's counts whole milliseconds): receipts read together share it, and
        # datetime.now(UTC) took 0.7 µs a receipt
        self._loop_time = asyncio.get_running_loop().time
        self._tick = -1.0
        self._tick_now = now()

    def __call__(self, info: SessionInfo, pdu: Any) -> asyncio.Future[None] | None:
        """Record the PDU; returns what the session's answer waits for (None: nothing)."""
        try:
            receipt = receipt_outcome_from_pdu(pdu)
            if receipt is not None:
                return self._on_receipt(info, receipt)
            return self._on_mo(info, pdu)
        except Exception:
            log.exception("inbound_pdu_not_understood", session=str(info))
            return None

    def read_frame(self, info: SessionInfo, frame: bytes) -> object:
        """The session's InboundFrameReader: a receipt in the usual form is recorded straight
        from its frame (one per message sent); any other frame is left to `__call__`."""
        receipt = receipt_outcome_from_frame(frame)
        if receipt is None:
            return FRAME_NOT_READ
        return self._on_receipt(info, receipt)

    def _on_receipt(
        self, info: SessionInfo, receipt: ReceiptOutcome
    ) -> asyncio.Future[None] | None:
        message_id, state, error, text = receipt
        if not message_id:
            log.warning("receipt_without_message_id", session=str(info), state=state)
            return None
        account = info.account
        kind = self._receipt_kinds.get((account, state))
        if kind is None:
            kind = self._receipt_kinds[(account, state)] = _ReceiptKind(
                self._metrics.receipts.labels(account, state or "none"),
                status_for_state(state),
                message_id_normalizer(self._modes.get(account, "auto")),
            )
        counter, status, normalize = kind
        counter.inc()
        tick = self._loop_time()
        if tick != self._tick:
            self._tick = tick
            self._tick_now = self._now()
        receipts = self._receipts
        receipts.add(new_record(ReceiptRecord, (
            account, normalize(message_id), status, self._tick_now, state, error, text
        )))
        return receipts.stored()

    def _on_mo(self, info: SessionInfo, pdu: Any) -> asyncio.Future[None] | None:
        source = str(getattr(pdu, "source_addr", ""))
        destination = str(getattr(pdu, "destination_addr", ""))
        data_coding = int(getattr(pdu, "data_coding", 0))
        parts = 1
        concat = concat_info(pdu)
        if concat is not None:
            reference, total, index, payload = concat
            body = self._reassembler.add(
                (info.account, source, destination), reference, total, index, payload,
                data_coding,
            )
            if body is None:
                return None  # more parts to come
            parts = total
        else:
            raw = bytes(getattr(pdu, "short_message", b""))
            if int(getattr(pdu, "esm_class", 0)) & _ESM_UDHI:
                raw = split_udh(raw)[1]
            body = decode_text(raw, data_coding)
        received_at = self._now()
        self._metrics.incoming.labels(info.account).inc()
        self._incoming.add(
            IncomingMessage(
                account=info.account,
                source=source,
                destination=destination,
                body=body,
                received_at=received_at,
                # a repeat of the same message within the same second is the SMSC delivering
                # it again, not the subscriber writing it twice
                dedupe_key=dedupe_key(info.account, source, destination, body,
                                      received_at.replace(microsecond=0).isoformat()),
                parts=parts,
                details={"data_coding": data_coding, "session": str(info)},
            )
        )
        return self._incoming.stored()

    def expire(self) -> int:
        """Drop incomplete multipart sets past their time to live."""
        return self._reassembler.expire()
