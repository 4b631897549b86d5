"""MO injection: single and multipart deliver_sm, joined back by the codec's reassembler."""

from __future__ import annotations

import asyncio

import pytest

from dispatcher.smsc_sim.mo import build_mo
from pdu.constants import ESM_UDHI, DataCoding
from pdu.pdus import DeliverSm, DeliverSmResp
from pdu.reassembly import Reassembler, concat_info
from pdu.receipt import is_receipt
from pdu.text import decode_text
from tests.smsc_sim.conftest import PASSWORD, SYSTEM_ID, SimFactory
from tests.smsc_sim.smpp_client import TinyEsme

LONG_LATIN = "The quick brown fox jumps over the lazy dog. " * 5  # 225 characters
LONG_CYRILLIC = "Съешь же ещё этих мягких французских булок, да выпей чаю. " * 3


def rejoin(parts: list[DeliverSm]) -> str:
    reassembler = Reassembler(ttl_seconds=60, now=lambda: 0.0)
    text = None
    for part in parts:
        info = concat_info(part)
        assert info is not None
        reference, total, index, payload = info
        text = reassembler.add("key", reference, total, index, payload, part.data_coding)
    assert text is not None
    return text


async def test_single_mo(make_sim: SimFactory) -> None:
    sim = await make_sim()
    esme = await TinyEsme.bound(sim.port, SYSTEM_ID, PASSWORD, "rx")
    statuses = await sim.send_mo(SYSTEM_ID, "79031234567", "7377", "STOP")
    assert statuses == [0]
    [pdu] = esme.delivered
    assert not is_receipt(pdu.esm_class)
    assert (pdu.source_addr, pdu.destination_addr) == ("79031234567", "7377")
    assert decode_text(pdu.short_message, pdu.data_coding) == "STOP"
    assert sim.recording.delivers[0].kind == "mo"
    await esme.close()


@pytest.mark.parametrize("method", ["udh", "udh16", "sar"])
async def test_multipart_mo(make_sim: SimFactory, method: str) -> None:
    sim = await make_sim()
    esme = await TinyEsme.bound(sim.port, SYSTEM_ID, PASSWORD, "trx")
    statuses = await sim.send_mo(SYSTEM_ID, "79031234567", "7377", LONG_CYRILLIC, method=method)
    assert len(statuses) == len(esme.delivered) > 1 and set(statuses) == {0}
    assert all(p.data_coding == DataCoding.UCS2 for p in esme.delivered)
    assert all(bool(p.esm_class & ESM_UDHI) == (method != "sar") for p in esme.delivered)
    assert rejoin(esme.delivered) == LONG_CYRILLIC
    await esme.close()


async def test_forced_part_count(make_sim: SimFactory) -> None:
    sim = await make_sim()
    esme = await TinyEsme.bound(sim.port, SYSTEM_ID, PASSWORD, "trx")
    await sim.send_mo(SYSTEM_ID, "79031234567", "7377", "short but in three", parts=3)
    assert len(esme.delivered) == 3
    infos = [concat_info(p) for p in esme.delivered]
    assert [(i[1], i[2]) for i in infos if i is not None] == [(3, 1), (3, 2), (3, 3)]
    assert rejoin(esme.delivered) == "short but in three"
    await esme.close()


async def test_long_gsm_mo_splits_into_parts(make_sim: SimFactory) -> None:
    sim = await make_sim()
    esme = await TinyEsme.bound(sim.port, SYSTEM_ID, PASSWORD, "trx")
    await sim.send_mo(SYSTEM_ID, "79031234567", "7377", LONG_LATIN)
    assert len(esme.delivered) == 2
    assert rejoin(esme.delivered) == LONG_LATIN
    await esme.close()


async def test_mo_waits_for_a_receiver(make_sim: SimFactory) -> None:
    sim = await make_sim()
    sending = asyncio.create_task(sim.send_mo(SYSTEM_ID, "79031234567", "7377", "hi"))
    await sim.wait_until(lambda: sim.waiting_deliveries(SYSTEM_ID) == 1)
    assert not sending.done()
    esme = await TinyEsme.bound(sim.port, SYSTEM_ID, PASSWORD, "rx")
    assert await asyncio.wait_for(sending, 3.0) == [0]
    await esme.close()


async def test_mo_reports_a_non_zero_ack_as_a_violation(make_sim: SimFactory) -> None:
    sim = await make_sim()
    esme = await TinyEsme.bound(sim.port, SYSTEM_ID, PASSWORD, "rx", auto_ack=False)
    sending = asyncio.create_task(sim.send_mo(SYSTEM_ID, "79031234567", "7377", "hi"))
    pdu = await esme.next_request()
    esme.send(DeliverSmResp(sequence_number=pdu.sequence_number, command_status=0x08))
    assert await asyncio.wait_for(sending, 3.0) == [0x08]
    assert any("L2932-2933" in v for v in sim.recording.violations)
    await esme.close()


def test_bad_mo_requests_are_refused() -> None:
    with pytest.raises(ValueError, match="method"):
        build_mo("1", "2", "text", method="carrier-pigeon")
    with pytest.raises(ValueError, match="parts"):
        build_mo("1", "2", "ab", parts=5)
    with pytest.raises(ValueError, match="one SMS"):
        build_mo("1", "2", "x" * 400, parts=2)
