"""What the SMSC does with messages: accept or refuse, which id, which receipt and when, and
what query_sm / cancel_sm / replace_sm find.

Sessions hand it decoded requests (or, on the fast path, only a submit_sm's sequence number)
and it answers through `session.respond`, records what it saw, keeps the message store and
plans receipts, which the delivery router takes to the account's receivers.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Final, Protocol

from dispatcher.clock import Clock
from dispatcher.smsc_sim.config import SimConfig
from dispatcher.smsc_sim.delivery import DeliveryRouter, OutboundDeliver
from dispatcher.smsc_sim.due_queue import DueQueue
from dispatcher.smsc_sim.faults import SubmitPolicy
from dispatcher.smsc_sim.message_ids import MessageIds
from dispatcher.smsc_sim.receipts import (
    ERROR_CODE_BY_STAT,
    PlannedReceipt,
    StateChooser,
    build_receipt,
    quoted_text,
    receipt_around_done_date,
    receipt_date,
    receipt_wanted,
)
from dispatcher.smsc_sim.records import Recording, SubmitRecord
from dispatcher.smsc_sim.rejoin import Rejoiner, text_octets
from dispatcher.smsc_sim.store import MessageStore, StoredMessage
from dispatcher.smsc_sim.wire import (
    SubmitView,
    address_octets,
    header_frame,
    message_id_response,
    read_submit_sm,
)
from pdu.codec import decode, encode
from pdu.constants import ESM_UDHI, CommandId, CommandStatus, DestFlag
from pdu.pdus import (
    CancelSm,
    DataSm,
    DataSmResp,
    DestAddress,
    QuerySm,
    QuerySmResp,
    ReplaceSm,
    SubmitMulti,
    SubmitMultiResp,
    SubmitSm,
    SubmitSmResp,
    UnsuccessSme,
)
from pdu.reassembly import split_udh
from pdu.receipt import MESSAGE_STATE_BY_STAT
from pdu.smpp_time import format_absolute, parse_smpp_time

# seed 004_80a28bca441860d4.txt L2971-2972: validity_period must be at least 60 seconds.
MIN_VALIDITY: Final = timedelta(seconds=60)


class Requester(Protocol):
    """The session a request came on, as the message center sees it (smsc_sim.session's
    SmscSession): whose bind it is, and how to answer on it."""

    session_id: int
    system_id: str | None

    def respond(self, frame: bytes, delay: float = 0.0) -> None: ...


class MessageCenter:
    def __init__(
        self,
        config: SimConfig,
        clock: Clock,
        recording: Recording,
        router: DeliveryRouter,
        violation: Callable[[str], None],
    ) -> None:
        self._config = config
        self._clock = clock
        self._recording = recording
        self._router = router
        self._violation = violation
        self._ids = MessageIds(
            config.message_id_format, config.hex_id_width, config.message_id_start
        )
        self._policy = SubmitPolicy(config)
        self._states = StateChooser(config.seed)
        self._store = MessageStore()
        self._rejoiner = Rejoiner(recording)
        self._receipts_due: DueQueue[StoredMessage | PlannedReceipt] = DueQueue(
            clock, self._send_receipts
        )

    def incomplete_messages(self) -> int:
        return self._rejoiner.incomplete()

    def message_state(self, message_id: str) -> str | None:
        message = self._store.by_id(message_id)
        return None if message is None else message.state_at(self._clock.monotonic())

    def submit_sm(self, session: Requester, frame: bytes, sequence_number: int) -> None:
        """Answer a submit_sm frame, read only as far as needed (PDUError if it is malformed).

        Not recording, the frame is read only for its header, or (for a receipt or a
        per-destination rule) for the few fields they need; recording, or for the
        receipt-first fault, it is decoded."""
        config = self._config
        faults = config.faults
        if not (config.record or faults.receipt_before_resp):
            if not (config.receipts or faults.has_destination_rules()):
                self._accept(session, "submit_sm", None, sequence_number, SubmitSmResp)
                return
            view = read_submit_sm(frame)
            if view is not None:
                self._accept_unstored(session, view, sequence_number)
                return
        request = decode(frame)
        assert isinstance(request, SubmitSm)
        self._accept(session, "submit_sm", request, sequence_number, SubmitSmResp)

    def data_sm(self, session: Requester, pdu: DataSm) -> None:
        self._accept(session, "data_sm", pdu, pdu.sequence_number, DataSmResp)

    def _accept(
        self,
        session: Requester,
        command: str,
        pdu: SubmitSm | DataSm | None,
        sequence_number: int,
        response: type[SubmitSmResp | DataSmResp],
    ) -> None:
        """Judge, answer and take one submit_sm / data_sm (`pdu` None: header only)."""
        destination = None if pdu is None else pdu.destination_addr
        status, delay = self._policy.answer(destination)
        number, message_id = self._allocate_id(status)
        frame = (
            message_id_response(response.command_id, sequence_number, message_id)
            if message_id
            else header_frame(response.command_id, status, sequence_number)
        )
        if pdu is None:
            session.respond(frame, delay)
            return
        early = self._take(
            session, command, pdu, status, number, message_id, allow_early_receipt=True
        )
        self._respond(session, frame, delay, early)

    def _accept_unstored(self, session: Requester, view: SubmitView, sequence_number: int) -> None:
        """`_accept` and `_take` of a submit_sm while not recording: the same answer, the same
        draws, and a receipt planned from the frame's fields (no PDU, no StoredMessage)."""
        source, destination, destination_addr, esm_class, registered, coding, short_message = view
        status, delay = self._policy.answer(destination_addr)
        if status != CommandStatus.ESME_ROK:
            session.respond(header_frame(CommandId.SUBMIT_SM_RESP, status, sequence_number), delay)
            return
        number, message_id = self._ids.allocate()
        session.respond(
            message_id_response(CommandId.SUBMIT_SM_RESP, sequence_number, message_id), delay
        )
        config = self._config
        if not config.receipts:
            return
        final_state = config.receipt_state_by_destination.get(destination_addr)
        if final_state is None:
            final_state = self._states.choose(config.receipt_states)
        if not receipt_wanted(registered, final_state):
            return
        octets = split_udh(short_message)[1] if esm_class & ESM_UDHI else short_message
        # the whole receipt but its done date, now: the submit's destination is its source
        before, after = receipt_around_done_date(
            destination,
            source,
            self._ids.receipt_id(number, message_id, config.receipt_id_base),
            final_state,
            receipt_date(self._clock.wall()),
            quoted_text(octets, coding),
            config.receipt_tlvs,
        )
        planned: PlannedReceipt = (session.system_id or "", message_id, before, after)
        self._receipts_due.add(config.receipt_delay, planned)

    def submit_multi(self, session: Requester, pdu: SubmitMulti) -> None:
        """One message id for the message; each SME destination is judged on its own and the
        refused ones are listed in the response. Distribution lists are not provisioned."""
        number, message_id = self._allocate_id(CommandStatus.ESME_ROK)
        refused: list[UnsuccessSme] = []
        for dest in pdu.dest_addresses:
            if dest.dest_flag != DestFlag.SME_ADDRESS:
                refused.append(
                    UnsuccessSme(0, 0, dest.address_or_dl_name, CommandStatus.ESME_RINVDLNAME)
                )
                continue
            status = self._policy.status_for(dest.address_or_dl_name)
            single = _as_submit_sm(pdu, dest)
            self._take(
                session,
                "submit_multi",
                single,
                status,
                number,
                message_id,
                allow_early_receipt=False,
            )
            if status != CommandStatus.ESME_ROK:
                refused.append(UnsuccessSme(dest.ton, dest.npi, dest.address_or_dl_name, status))
        first = pdu.dest_addresses[0].address_or_dl_name if pdu.dest_addresses else None
        response = SubmitMultiResp(
            message_id=message_id, unsuccess_smes=refused, sequence_number=pdu.sequence_number
        )
        session.respond(encode(response), self._policy.response_delay(first))

    def query_sm(self, session: Requester, pdu: QuerySm) -> bytes:
        message = self._message_of(session, pdu.message_id)
        if message is None:
            return header_frame(
                CommandId.QUERY_SM_RESP, CommandStatus.ESME_RQUERYFAIL, pdu.sequence_number
            )
        state = message.state_at(self._clock.monotonic())
        final_date = ""
        if state != "ENROUTE":
            final_date = format_absolute(datetime.fromtimestamp(message.final_wall(), UTC))
        return encode(
            QuerySmResp(
                message_id=pdu.message_id,
                final_date=final_date,
                message_state=MESSAGE_STATE_BY_STAT[state],
                error_code=ERROR_CODE_BY_STAT.get(state, 0),
                sequence_number=pdu.sequence_number,
            )
        )

    def cancel_sm(self, session: Requester, pdu: CancelSm) -> bytes:
        now = self._clock.monotonic()
        message = self._message_of(session, pdu.message_id)
        if message is None or message.is_final_at(now):
            status = CommandStatus.ESME_RCANCELFAIL
        else:
            message.delete(now, self._clock.wall())
            status = CommandStatus.ESME_ROK
        return header_frame(CommandId.CANCEL_SM_RESP, status, pdu.sequence_number)

    def replace_sm(self, session: Requester, pdu: ReplaceSm) -> bytes:
        message = self._message_of(session, pdu.message_id)
        if message is None or message.is_final_at(self._clock.monotonic()):
            status = CommandStatus.ESME_RREPLACEFAIL
        else:
            message.short_message = pdu.short_message
            status = CommandStatus.ESME_ROK
        return header_frame(CommandId.REPLACE_SM_RESP, status, pdu.sequence_number)

    def _allocate_id(self, status: int) -> tuple[int, str]:
        if status != CommandStatus.ESME_ROK:
            return 0, ""
        return self._ids.allocate()

    def _take(
        self,
        session: Requester,
        command: str,
        pdu: SubmitSm | DataSm,
        status: int,
        number: int,
        message_id: str,
        *,
        allow_early_receipt: bool,
    ) -> OutboundDeliver | None:
        """Record one submitted message and, if accepted, remember it and plan its receipt.
        Returns the receipt to send before the response when that fault is on."""
        config = self._config
        now = self._clock.monotonic()
        system_id = session.system_id or ""
        validity_period = pdu.validity_period if isinstance(pdu, SubmitSm) else ""
        if config.record:
            self._recording.submits.append(
                SubmitRecord(
                    time=now,
                    session_id=session.session_id,
                    system_id=system_id,
                    command=command,
                    sequence_number=pdu.sequence_number,
                    source_addr_ton=pdu.source_addr_ton,
                    source_addr_npi=pdu.source_addr_npi,
                    source_addr=pdu.source_addr,
                    dest_addr_ton=pdu.dest_addr_ton,
                    dest_addr_npi=pdu.dest_addr_npi,
                    destination_addr=pdu.destination_addr,
                    esm_class=pdu.esm_class,
                    registered_delivery=pdu.registered_delivery,
                    data_coding=pdu.data_coding,
                    validity_period=validity_period,
                    short_message=pdu.short_message if isinstance(pdu, SubmitSm) else b"",
                    tlvs=pdu.tlvs,
                    command_status=status,
                    message_id=message_id,
                )
            )
            self._check_validity(validity_period, pdu.destination_addr)
        if status != CommandStatus.ESME_ROK:
            return None
        if config.record:
            self._rejoiner.add(system_id, pdu.source_addr, pdu.destination_addr, pdu)
        if not (config.record or config.receipts):
            return None
        message = self._stored(system_id, pdu, number, message_id, now)
        if config.record:
            self._store.add(message)
        if not (config.receipts and message.receipt_requested):
            return None
        if (
            allow_early_receipt
            and config.faults.receipt_before_resp
            and self._router.has_receiver(system_id)
        ):
            message.final_at = now
            return self._receipt(message)
        self._receipts_due.add(config.receipt_delay, message)
        return None

    def _stored(
        self,
        system_id: str,
        pdu: SubmitSm | DataSm,
        number: int,
        message_id: str,
        now: float,
    ) -> StoredMessage:
        config = self._config
        final_state = config.receipt_state_by_destination.get(pdu.destination_addr)
        if final_state is None:
            final_state = self._states.choose(config.receipt_states)
        return StoredMessage(
            number=number,
            message_id=message_id,
            system_id=system_id,
            source_addr_ton=pdu.source_addr_ton,
            source_addr_npi=pdu.source_addr_npi,
            source_addr=pdu.source_addr,
            dest_addr_ton=pdu.dest_addr_ton,
            dest_addr_npi=pdu.dest_addr_npi,
            destination_addr=pdu.destination_addr,
            data_coding=pdu.data_coding,
            esm_class=pdu.esm_class,
            short_message=text_octets(pdu),
            submitted_at=now,
            submitted_wall=self._clock.wall(),
            final_at=now + config.receipt_delay,
            final_state=final_state,
            receipt_requested=receipt_wanted(pdu.registered_delivery, final_state),
        )

    def _respond(
        self, session: Requester, frame: bytes, delay: float, early: OutboundDeliver | None
    ) -> None:
        if early is None:
            session.respond(frame, delay)
            return
        # The response waits for the client to acknowledge the receipt, so the receipt
        # certainly arrived first (specs/smpp-anchors.md §3 item 2).
        early.on_ack = lambda _status: session.respond(frame)
        self._router.deliver(early)

    def _send_receipts(self, messages: list[StoredMessage | PlannedReceipt]) -> None:
        """The receipts due at one timer tick, which share its wall time and done date (and,
        per account, one session and one write)."""
        done_wall = self._clock.wall()
        done_date = receipt_date(done_wall)
        receipts: list[OutboundDeliver] = []
        for message in messages:
            if isinstance(message, StoredMessage):
                receipts.append(self._receipt(message, done_wall))
                continue
            system_id, message_id, before, after = message
            receipts.append(
                OutboundDeliver(system_id, before + done_date + after, "receipt", message_id)
            )
        self._router.deliver_batch(receipts)

    def _receipt(self, message: StoredMessage, done_wall: float | None = None) -> OutboundDeliver:
        """The receipt of a final message, done at `done_wall` (None: now)."""
        # A receipt is only built once the message is final, but a loop timer may fire a
        # little before the clock reaches its deadline (uvloop rounds to milliseconds): read
        # the state at the final moment at the earliest, or the receipt would say ENROUTE.
        state = message.state_at(max(self._clock.monotonic(), message.final_at))
        receipt_id = self._ids.receipt_id(
            message.number, message.message_id, self._config.receipt_id_base
        )
        body = build_receipt(
            address_octets(message.dest_addr_ton, message.dest_addr_npi, message.destination_addr),
            address_octets(message.source_addr_ton, message.source_addr_npi, message.source_addr),
            receipt_id,
            state,
            receipt_date(message.submitted_wall),
            receipt_date(self._clock.wall() if done_wall is None else done_wall),
            quoted_text(message.short_message, message.data_coding),
            self._config.receipt_tlvs,
        )
        return OutboundDeliver(message.system_id, body, "receipt", message.message_id)

    def _message_of(self, session: Requester, message_id: str) -> StoredMessage | None:
        return self._store.get(message_id, session.system_id or "")

    def _check_validity(self, validity_period: str, destination: str) -> None:
        if not validity_period:
            return
        now = datetime.now(UTC)
        expiry = parse_smpp_time(validity_period, now)
        if isinstance(expiry, datetime) and expiry - now < MIN_VALIDITY:
            self._violation(
                f"submit to {destination}: validity_period {validity_period!r} is under 60 s "
                "(seed 004 L2971-2972)"
            )


def _as_submit_sm(pdu: SubmitMulti, dest: DestAddress) -> SubmitSm:
    """What a submit_multi amounts to for one of its destinations."""
    return SubmitSm(
        service_type=pdu.service_type,
        source_addr_ton=pdu.source_addr_ton,
        source_addr_npi=pdu.source_addr_npi,
        source_addr=pdu.source_addr,
        dest_addr_ton=dest.ton,
        dest_addr_npi=dest.npi,
        destination_addr=dest.address_or_dl_name,
        esm_class=pdu.esm_class,
        protocol_id=pdu.protocol_id,
        priority_flag=pdu.priority_flag,
        schedule_delivery_time=pdu.schedule_delivery_time,
        validity_period=pdu.validity_period,
        registered_delivery=pdu.registered_delivery,
        replace_if_present_flag=pdu.replace_if_present_flag,
        data_coding=pdu.data_coding,
        sm_default_msg_id=pdu.sm_default_msg_id,
        short_message=pdu.short_message,
        tlvs=pdu.tlvs,
        sequence_number=pdu.sequence_number,
    )
