"""Not recording (`SimConfig.record` off, the benchmarks' `--no-record`), the simulator reads a
submit_sm only for what its receipt needs: the answers and receipts on the wire must be the
ones it sends while recording."""

from __future__ import annotations

import asyncio

import pytest

from dispatcher.clock import ScaledClock
from dispatcher.smsc_sim import SimConfig, SmscSimulator
from dispatcher.smsc_sim.config import FaultConfig
from pdu.constants import CommandId, CommandStatus
from pdu.pdus import DeliverSm, GenericNack, Pdu, SubmitSm
from pdu.tlv import Tag
from tests.smsc_sim.conftest import PASSWORD, SYSTEM_ID
from tests.smsc_sim.smpp_client import TinyEsme


class FixedWallClock(ScaledClock):
    """1 s lasts 1 ms, and the wall clock stands still: two runs write the same dates."""

    def wall(self) -> float:
        return 1_700_000_000.0


def submits() -> list[SubmitSm]:
    udh = b"\x05\x00\x03\x2a\x02\x01"
    return [
        SubmitSm(source_addr="Sender", destination_addr="79030000001", registered_delivery=1,
                 short_message=b"Your code is 1234, do not share it"),
        SubmitSm(source_addr_ton=5, source_addr="MyShop", dest_addr_ton=1, dest_addr_npi=1,
                 destination_addr="79030000002", registered_delivery=1, data_coding=8,
                 short_message="Ваш код 1234. Никому его не сообщайте.".encode("utf-16-be")),
        SubmitSm(source_addr="Sender", destination_addr="79030000003", registered_delivery=1,
                 esm_class=0x40, short_message=udh + b"part one of two"),
        # GSM escapes and Latin-1 octets under data_coding 0; no receipt; failure-only receipt
        SubmitSm(destination_addr="79030000004", registered_delivery=1,
                 short_message=b"\x1b\x3c braces \x1b\x3e and \xe9t\xe9"),
        SubmitSm(destination_addr="79030000005", registered_delivery=0, short_message=b"none"),
        SubmitSm(destination_addr="79030000006", registered_delivery=2, short_message=b"fail"),
        # TLVs: read by the full decode, and the text from message_payload
        SubmitSm(destination_addr="79030000007", registered_delivery=1,
                 tlvs={Tag.MESSAGE_PAYLOAD: b"text in the payload TLV"}),
        # refused by a per-destination rule, then by a rate
        SubmitSm(destination_addr="79030000008", registered_delivery=1, short_message=b"x"),
    ] + [
        SubmitSm(destination_addr=f"7903100{n:04d}", registered_delivery=1, short_message=b"y")
        for n in range(40)
    ]  # fmt: skip


async def run(record: bool, **config: object) -> tuple[list[Pdu], list[DeliverSm]]:
    sim = SmscSimulator(
        SimConfig(
            credentials={SYSTEM_ID: PASSWORD},
            record=record,
            seed=1,
            receipt_states={"DELIVRD": 0.7, "UNDELIV": 0.2, "EXPIRED": 0.1},
            receipt_state_by_destination={"79030000006": "REJECTD"},
            faults=FaultConfig(
                throttle_rate=0.2, status_by_destination={"79030000008": CommandStatus.ESME_RSYSERR}
            ),
            **config,  # type: ignore[arg-type]
        ),
        clock=FixedWallClock(0.001),
    )
    await sim.start()
    esme = await TinyEsme.bound(sim.port, SYSTEM_ID, PASSWORD, "trx")
    try:
        responses = [await esme.request(pdu) for pdu in submits()]
        await asyncio.sleep(0.05)  # 50 clock seconds: every receipt has been sent
        await esme.request(SubmitSm(destination_addr="0"))  # and, behind this answer, read
        return responses, esme.delivered
    finally:
        await esme.close()
        await sim.stop()


@pytest.mark.parametrize(
    "config",
    [
        {},
        {"receipt_id_base": "other", "receipt_tlvs": False},
        {"message_id_format": "decimal", "receipt_delay": 0.0},
    ],
)
async def test_answers_and_receipts_do_not_depend_on_recording(config: dict[str, object]) -> None:
    recorded = await run(True, **config)
    assert len(recorded[1]) > 20  # the mix gave receipts of each kind
    texts = b" ".join(receipt.short_message for receipt in recorded[1])
    assert b"text:text in the payload" in texts and b"stat:REJECTD" in texts
    assert await run(False, **config) == recorded


async def test_a_malformed_submit_sm_is_nacked_without_recording() -> None:
    sim = SmscSimulator(
        SimConfig(credentials={SYSTEM_ID: PASSWORD}, record=False), clock=ScaledClock(0.001)
    )
    await sim.start()
    esme = await TinyEsme.bound(sim.port, SYSTEM_ID, PASSWORD, "trx")
    try:
        # sm_length says 9 octets, one follows
        body = b"\x00\x00\x00Sender\x00\x01\x01790300\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x09x"
        header = (16 + len(body)).to_bytes(4, "big") + CommandId.SUBMIT_SM.to_bytes(4, "big")
        response = esme.expect(77)
        esme.send_raw(header + b"\x00\x00\x00\x00" + (77).to_bytes(4, "big") + body)
        nack = await response
        assert isinstance(nack, GenericNack)
        assert nack.command_status == CommandStatus.ESME_RINVCMDLEN
    finally:
        await esme.close()
        await sim.stop()
