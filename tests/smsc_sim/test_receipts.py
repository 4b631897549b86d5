"""Delivery receipts: text, TLVs, routing to rx/trx, waiting, redelivery, state mix."""

from __future__ import annotations

import asyncio
from collections import Counter
from functools import partial

import pytest

from dispatcher.smsc_sim import SimConfig, SmscSimulator
from pdu.constants import ESM_DELIVERY_RECEIPT, CommandStatus
from pdu.message_id import normalize_message_id
from pdu.pdus import DeliverSm, DeliverSmResp, SubmitSm, SubmitSmResp
from pdu.receipt import MESSAGE_STATE_BY_STAT, parse_receipt_text, receipt_from_pdu
from pdu.tlv import Tag, get_cstring, get_int
from tests.smsc_sim.conftest import PASSWORD, SYSTEM_ID, SimFactory, SteppedClock
from tests.smsc_sim.smpp_client import TinyEsme


def submit(destination: str, registered_delivery: int = 1, text: bytes = b"hello") -> SubmitSm:
    return SubmitSm(
        source_addr="Sender",
        destination_addr=destination,
        short_message=text,
        registered_delivery=registered_delivery,
    )


def delivered(receivers: list[TinyEsme], count: int) -> bool:
    return sum(len(esme.delivered) for esme in receivers) == count


async def next_receipt(esme: TinyEsme) -> DeliverSm:
    pdu = await esme.next_request()
    assert isinstance(pdu, DeliverSm)
    return pdu


async def test_receipt_on_a_separate_receiver_bind(make_sim: SimFactory) -> None:
    sim = await make_sim(receipt_delay=5.0)
    tx = await TinyEsme.bound(sim.port, SYSTEM_ID, PASSWORD, "tx")
    rx = await TinyEsme.bound(sim.port, SYSTEM_ID, PASSWORD, "rx")
    response = await tx.request(submit("79031234567", text=b"Your code is 1234, do not share"))
    receipt = await next_receipt(rx)
    assert receipt.esm_class == ESM_DELIVERY_RECEIPT
    assert (receipt.source_addr, receipt.destination_addr) == ("79031234567", "Sender")
    text = receipt.short_message.decode("ascii")
    assert text.startswith(f"id:{response.message_id} sub:001 dlvrd:001 submit date:")
    assert " stat:DELIVRD err:000 text:Your code is 1234, d" in text
    parsed = parse_receipt_text(text)
    assert parsed is not None and parsed.message_id == response.message_id
    assert parsed.submit_date is not None and parsed.done_date is not None
    assert get_cstring(receipt.tlvs, Tag.RECEIPTED_MESSAGE_ID) == response.message_id
    assert get_int(receipt.tlvs, Tag.MESSAGE_STATE) == MESSAGE_STATE_BY_STAT["DELIVRD"]
    assert tx.delivered == []  # a transmitter never gets receipts
    await sim.wait_until(lambda: sim.recording.delivers[0].ack_status == 0)
    assert sim.recording.delivers[0].message_id == response.message_id
    await tx.close()
    await rx.close()


async def test_failed_receipt_carries_error_and_network_code(make_sim: SimFactory) -> None:
    sim = await make_sim(receipt_delay=1.0, receipt_state_by_destination={"79030000005": "UNDELIV"})
    esme = await TinyEsme.bound(sim.port, SYSTEM_ID, PASSWORD, "trx")
    await esme.request(submit("79030000005"))
    receipt = await next_receipt(esme)
    parsed = receipt_from_pdu(receipt)
    assert parsed is not None and parsed.state == "UNDELIV"
    assert b"dlvrd:000" in receipt.short_message and b"err:001" in receipt.short_message
    assert receipt.tlvs[Tag.NETWORK_ERROR_CODE] == b"\x03\x00\x01"
    await esme.close()


async def test_no_receipt_unless_registered_delivery_asks(make_sim: SimFactory) -> None:
    sim = await make_sim(receipt_delay=1.0, receipt_state_by_destination={"79030000002": "EXPIRED"})
    esme = await TinyEsme.bound(sim.port, SYSTEM_ID, PASSWORD, "trx")
    await esme.request(submit("79030000000", registered_delivery=0))
    # 2 = receipt on failure only: the delivered one gets none, the expired one does.
    await esme.request(submit("79030000001", registered_delivery=2))
    await esme.request(submit("79030000002", registered_delivery=2))
    receipt = await next_receipt(esme)
    assert receipt.source_addr == "79030000002" and b"stat:EXPIRED" in receipt.short_message
    await asyncio.sleep(0.05)  # 50 clock seconds: any other receipt would be here by now
    assert len(esme.delivered) == 1
    await esme.close()


async def test_receipt_id_in_the_other_base(make_sim: SimFactory) -> None:
    sim = await make_sim(message_id_format="hex", receipt_id_base="other", message_id_start=255)
    esme = await TinyEsme.bound(sim.port, SYSTEM_ID, PASSWORD, "trx")
    response = await esme.request(submit("79030000001"))
    assert response.message_id == "000000FF"
    receipt = await next_receipt(esme)
    assert b"id:255 " in receipt.short_message
    assert get_cstring(receipt.tlvs, Tag.RECEIPTED_MESSAGE_ID) == "255"
    assert normalize_message_id(response.message_id, "hex") == normalize_message_id(
        "255", "decimal"
    )
    await esme.close()


async def test_receipt_without_tlvs_has_only_the_text(make_sim: SimFactory) -> None:
    sim = await make_sim(receipt_tlvs=False)
    esme = await TinyEsme.bound(sim.port, SYSTEM_ID, PASSWORD, "trx")
    await esme.request(submit("79030000001"))
    receipt = await next_receipt(esme)
    assert receipt.tlvs == {} and b"stat:DELIVRD" in receipt.short_message
    await esme.close()


async def test_receipts_wait_for_a_receiver_to_bind(make_sim: SimFactory) -> None:
    sim = await make_sim(receipt_delay=1.0)
    tx = await TinyEsme.bound(sim.port, SYSTEM_ID, PASSWORD, "tx")
    ids = [(await tx.request(submit(f"7903000000{i}"))).message_id for i in range(3)]
    await sim.wait_until(lambda: sim.waiting_deliveries(SYSTEM_ID) == 3)
    rx = await TinyEsme.bound(sim.port, SYSTEM_ID, PASSWORD, "rx")
    receipts = [await next_receipt(rx) for _ in ids]
    assert [get_cstring(r.tlvs, Tag.RECEIPTED_MESSAGE_ID) for r in receipts] == ids
    assert sim.waiting_deliveries() == 0
    await tx.close()
    await rx.close()


async def test_unacknowledged_receipt_is_delivered_again(make_sim: SimFactory) -> None:
    sim = await make_sim(receipt_delay=1.0)
    careless = await TinyEsme.bound(sim.port, SYSTEM_ID, PASSWORD, "trx", auto_ack=False)
    response = await careless.request(submit("79030000001"))
    await next_receipt(careless)
    await careless.close()  # gone without a deliver_sm_resp
    await sim.wait_until(lambda: sim.waiting_deliveries(SYSTEM_ID) == 1)
    careful = await TinyEsme.bound(sim.port, SYSTEM_ID, PASSWORD, "rx")
    again = await next_receipt(careful)
    assert get_cstring(again.tlvs, Tag.RECEIPTED_MESSAGE_ID) == response.message_id
    await careful.close()


async def draw_states(make_sim: SimFactory, mix: dict[str, float], count: int) -> list[str]:
    sim = await make_sim(seed=7, receipt_states=mix, receipt_delay=0.0)
    esme = await TinyEsme.bound(sim.port, SYSTEM_ID, PASSWORD, "trx")
    for index in range(count):
        await esme.request(submit(f"7903{index:07d}"))
    await sim.wait_until(lambda: len(esme.delivered) == count)
    await esme.close()
    receipts = [parse_receipt_text(d.short_message) for d in esme.delivered]
    return [r.state for r in receipts if r is not None and r.state is not None]


async def test_state_mix_is_drawn_repeatably_from_the_seed(make_sim: SimFactory) -> None:
    mix = {"DELIVRD": 0.6, "UNDELIV": 0.3, "EXPIRED": 0.1}
    first = await draw_states(make_sim, mix, 60)
    assert await draw_states(make_sim, mix, 60) == first
    counts = Counter(first)
    assert set(counts) == set(mix) and counts["DELIVRD"] > counts["EXPIRED"]


async def test_receipts_go_round_robin_over_receivers(make_sim: SimFactory) -> None:
    sim = await make_sim(receipt_delay=0.0)
    tx = await TinyEsme.bound(sim.port, SYSTEM_ID, PASSWORD, "tx")
    rx1 = await TinyEsme.bound(sim.port, SYSTEM_ID, PASSWORD, "rx")
    rx2 = await TinyEsme.bound(sim.port, SYSTEM_ID, PASSWORD, "trx")
    for index in range(4):  # each receipt in a tick of its own
        assert isinstance(await tx.request(submit(f"7903000000{index}")), SubmitSmResp)
        await sim.wait_until(partial(delivered, [rx1, rx2], index + 1))
    assert len(rx1.delivered) == len(rx2.delivered) == 2
    for esme in (tx, rx1, rx2):
        await esme.close()


@pytest.mark.parametrize("record", [True, False])
async def test_receipts_due_at_one_tick_go_on_one_receiver_and_batches_take_turns(
    record: bool,
) -> None:
    clock = SteppedClock()
    credentials = {SYSTEM_ID: PASSWORD, "other": PASSWORD}
    sim = SmscSimulator(
        SimConfig(credentials=credentials, receipt_delay=5.0, record=record), clock=clock
    )
    await sim.start(host="127.0.0.1", port=0)
    tx = await TinyEsme.bound(sim.port, SYSTEM_ID, PASSWORD, "tx")
    rx1 = await TinyEsme.bound(sim.port, SYSTEM_ID, PASSWORD, "rx")
    rx2 = await TinyEsme.bound(sim.port, SYSTEM_ID, PASSWORD, "rx")
    other = await TinyEsme.bound(sim.port, "other", PASSWORD, "trx")
    try:
        for index in range(4):
            await tx.request(submit(f"7903000000{index}"))
        await other.request(submit("79039999999"))
        clock.now = 5.0
        await sim.wait_until(lambda: len(rx1.delivered) + len(rx2.delivered) == 4)
        assert sorted((len(rx1.delivered), len(rx2.delivered))) == [0, 4]
        await sim.wait_until(lambda: len(other.delivered) == 1)
        for index in range(2):
            await tx.request(submit(f"7903000001{index}"))
        clock.now = 10.0
        await sim.wait_until(lambda: len(rx1.delivered) + len(rx2.delivered) == 6)
        assert sorted((len(rx1.delivered), len(rx2.delivered))) == [2, 4]
        destinations = [d.source_addr for d in rx1.delivered + rx2.delivered]
        assert sorted(destinations) == [f"7903000000{i}" for i in range(4)] + [
            "79030000010",
            "79030000011",
        ]
    finally:
        for esme in (tx, rx1, rx2, other):
            await esme.close()
        await sim.stop()


async def test_deliver_sm_resp_status_and_strays_are_recorded(make_sim: SimFactory) -> None:
    sim = await make_sim(receipt_delay=0.0)
    esme = await TinyEsme.bound(sim.port, SYSTEM_ID, PASSWORD, "trx", auto_ack=False)
    response = await esme.request(submit("79031234567"))
    receipt = await next_receipt(esme)
    esme.send(
        DeliverSmResp(
            sequence_number=receipt.sequence_number,
            command_status=CommandStatus.ESME_RSYSERR,
        )
    )
    esme.send(DeliverSmResp(sequence_number=receipt.sequence_number))  # answered already
    await sim.wait_until(lambda: len(sim.recording.violations) == 2)
    [record] = sim.recording.delivers
    assert record.message_id == response.message_id
    assert record.ack_status == CommandStatus.ESME_RSYSERR
    assert "ESME_RSYSERR" in sim.recording.violations[0]
    assert "already answered" in sim.recording.violations[1]
    await esme.close()
