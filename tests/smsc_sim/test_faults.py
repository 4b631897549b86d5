"""Injected faults: error statuses, delays, early receipts, drops, unbinds, silence, garbage,
refusals, and a listener that stops and comes back on the same port."""

from __future__ import annotations

import asyncio

import pytest

from dispatcher.smsc_sim import FaultConfig
from pdu.constants import CommandId, CommandStatus
from pdu.pdus import DeliverSm, EnquireLink, GenericNack, SubmitSm, SubmitSmResp, Unbind
from tests.smsc_sim.conftest import PASSWORD, SYSTEM_ID, SimFactory
from tests.smsc_sim.smpp_client import TinyEsme

NO_ANSWER = 0.2  # real seconds a test waits to see that nothing comes


def submit(destination: str, registered_delivery: int = 0) -> SubmitSm:
    return SubmitSm(
        source_addr="Sender",
        destination_addr=destination,
        short_message=b"hi",
        registered_delivery=registered_delivery,
    )


async def statuses(esme: TinyEsme, destinations: list[str]) -> list[int]:
    return [(await esme.request(submit(d))).command_status for d in destinations]


@pytest.mark.parametrize(
    ("faults", "status"),
    [
        (FaultConfig(throttle_rate=1.0), CommandStatus.ESME_RTHROTTLED),
        (FaultConfig(queue_full_rate=1.0), CommandStatus.ESME_RMSGQFUL),
        (FaultConfig(invalid_rate=1.0), CommandStatus.ESME_RINVDSTADR),
    ],
)
async def test_rates_of_one_refuse_everything(
    make_sim: SimFactory, faults: FaultConfig, status: int
) -> None:
    sim = await make_sim(faults=faults)
    esme = await TinyEsme.bound(sim.port, SYSTEM_ID, PASSWORD, "tx")
    assert await statuses(esme, ["79030000001", "79030000002"]) == [status, status]
    response = await esme.request(submit("79030000003"))
    assert response.message_id == ""  # error responses carry no body
    assert sim.recording.accepted() == [] and sim.recording.messages == []
    await esme.close()


async def test_fractions_are_repeatable_for_a_seed(make_sim: SimFactory) -> None:
    runs = []
    for _ in range(2):
        faults = FaultConfig(throttle_rate=0.2, queue_full_rate=0.2, invalid_rate=0.1)
        sim = await make_sim(seed=3, faults=faults, record=False, receipts=False)
        esme = await TinyEsme.bound(sim.port, SYSTEM_ID, PASSWORD, "tx")
        runs.append(await statuses(esme, ["79030000001"] * 100))
        await esme.close()
    assert runs[0] == runs[1]
    assert {
        CommandStatus.ESME_ROK,
        CommandStatus.ESME_RTHROTTLED,
        CommandStatus.ESME_RMSGQFUL,
        CommandStatus.ESME_RINVDSTADR,
    } == set(runs[0])
    assert 30 < runs[0].count(CommandStatus.ESME_ROK) < 70


async def test_per_destination_rules_are_exact(make_sim: SimFactory) -> None:
    faults = FaultConfig(
        invalid_destinations={"79990000000"},
        queue_full_first={"79030000001": 2},
        throttle_first={"79030000002": 1},
        status_by_destination={"79030000003": CommandStatus.ESME_RSYSERR},
    )
    sim = await make_sim(faults=faults)
    esme = await TinyEsme.bound(sim.port, SYSTEM_ID, PASSWORD, "tx")
    ok, qfull = CommandStatus.ESME_ROK, CommandStatus.ESME_RMSGQFUL
    throttled = CommandStatus.ESME_RTHROTTLED
    assert await statuses(esme, ["79990000000"] * 2) == [CommandStatus.ESME_RINVDSTADR] * 2
    assert await statuses(esme, ["79030000001"] * 3) == [qfull, qfull, ok]
    assert await statuses(esme, ["79030000002"] * 2) == [throttled, ok]
    assert await statuses(esme, ["79030000003"]) == [CommandStatus.ESME_RSYSERR]
    assert await statuses(esme, ["79030000009"]) == [ok]
    assert sim.recording.accepted_counts[("79030000001", "hi")] == 1
    await esme.close()


async def test_tries_count_from_when_a_rule_names_the_destination(make_sim: SimFactory) -> None:
    sim = await make_sim()
    esme = await TinyEsme.bound(sim.port, SYSTEM_ID, PASSWORD, "tx")
    ok, throttled = CommandStatus.ESME_ROK, CommandStatus.ESME_RTHROTTLED
    assert await statuses(esme, ["79030000001"] * 2) == [ok, ok]
    sim.config.faults.throttle_first["79030000001"] = 2
    assert await statuses(esme, ["79030000001"] * 3) == [throttled, throttled, ok]
    await esme.close()


async def test_response_delay_shows_the_clients_window(make_sim: SimFactory) -> None:
    sim = await make_sim(faults=FaultConfig(response_delay=20.0))
    esme = await TinyEsme.bound(sim.port, SYSTEM_ID, PASSWORD, "tx")
    pending = [esme.expect(esme.send(submit(f"7903000000{i}"))) for i in range(5)]
    responses = await asyncio.gather(*pending)
    assert all(r.command_status == 0 for r in responses)
    assert sim.recording.max_outstanding(SYSTEM_ID) == 5
    await esme.close()


async def test_per_destination_delay_answers_out_of_order(make_sim: SimFactory) -> None:
    sim = await make_sim(faults=FaultConfig(response_delay_by_destination={"79030000001": 30.0}))
    esme = await TinyEsme.bound(sim.port, SYSTEM_ID, PASSWORD, "tx")
    order: list[str] = []
    slow = esme.expect(esme.send(submit("79030000001")))
    fast = esme.expect(esme.send(submit("79030000002")))
    slow.add_done_callback(lambda _: order.append("slow"))
    fast.add_done_callback(lambda _: order.append("fast"))
    await asyncio.gather(slow, fast)
    assert order == ["fast", "slow"]
    await esme.close()


async def test_receipt_before_its_submit_sm_resp(make_sim: SimFactory) -> None:
    sim = await make_sim(faults=FaultConfig(receipt_before_resp=True))
    esme = await TinyEsme.bound(sim.port, SYSTEM_ID, PASSWORD, "trx")
    sequence_number = esme.send(submit("79030000001", registered_delivery=1))
    response = esme.expect(sequence_number)
    receipt = await esme.next_request()
    assert isinstance(receipt, DeliverSm) and not response.done()
    resp = await response
    assert isinstance(resp, SubmitSmResp)
    assert f"id:{resp.message_id} ".encode() in receipt.short_message
    await esme.close()


async def test_drop_after_n_pdus(make_sim: SimFactory) -> None:
    sim = await make_sim(faults=FaultConfig(drop_after_pdus=3))
    esme = await TinyEsme.bound(sim.port, SYSTEM_ID, PASSWORD, "tx")  # PDU 1
    await esme.request(submit("79030000001"))  # PDU 2
    third = await esme.request(submit("79030000002"))  # PDU 3: answered, then dropped
    assert third.command_status == 0
    await esme.wait_closed()
    await sim.wait_until(lambda: sim.bound_count(SYSTEM_ID) == 0)


async def test_unbind_after_n_pdus(make_sim: SimFactory) -> None:
    sim = await make_sim(faults=FaultConfig(unbind_after_pdus=2))
    esme = await TinyEsme.bound(sim.port, SYSTEM_ID, PASSWORD, "trx")
    await esme.request(submit("79030000001"))
    unbind = await esme.next_request()
    assert isinstance(unbind, Unbind)
    await esme.wait_closed()  # closed once the client's unbind_resp arrived


async def test_unbind_all(make_sim: SimFactory) -> None:
    sim = await make_sim()
    sessions = [await TinyEsme.bound(sim.port, SYSTEM_ID, PASSWORD, m) for m in ("tx", "rx")]
    await asyncio.wait_for(sim.unbind_all(), 3.0)
    for esme in sessions:
        assert isinstance(await esme.next_request(), Unbind)
        await esme.wait_closed()
    assert sim.bound_count(SYSTEM_ID) == 0


async def test_server_unbind_closes_even_without_unbind_resp(make_sim: SimFactory) -> None:
    sim = await make_sim(unbind_timeout=5.0)
    esme = await TinyEsme.bound(sim.port, SYSTEM_ID, PASSWORD, "trx", auto_ack=False)
    await asyncio.wait_for(sim.unbind_all(), 3.0)
    assert isinstance(await esme.next_request(), Unbind)  # asked, never answered
    await esme.wait_closed()  # closed by the unbind timeout alone
    assert sim.bound_count(SYSTEM_ID) == 0


async def test_submits_during_server_unbind_are_refused(make_sim: SimFactory) -> None:
    sim = await make_sim(unbind_timeout=1e6)
    esme = await TinyEsme.bound(sim.port, SYSTEM_ID, PASSWORD, "tx", auto_ack=False)
    unbinding = asyncio.create_task(sim.unbind_all())
    assert isinstance(await esme.next_request(), Unbind)
    assert await statuses(esme, ["79030000001"]) == [CommandStatus.ESME_RINVBNDSTS]
    await esme.close()
    await asyncio.wait_for(unbinding, 3.0)


async def test_silence_answers_nothing(make_sim: SimFactory) -> None:
    sim = await make_sim(faults=FaultConfig(silent=True))
    esme = await TinyEsme.connect(sim.port)
    with pytest.raises(TimeoutError):
        await esme.bind(SYSTEM_ID, PASSWORD, "tx", timeout=NO_ANSWER)
    sim.config.faults.silent = False
    await esme.request(EnquireLink())  # alive again: the bind happened, only its answer was lost
    sim.config.faults.silent = True
    with pytest.raises(TimeoutError):
        await esme.request(submit("79030000001"), timeout=NO_ANSWER)
    # The SMSC took the message; its response was what got lost.
    assert sim.recording.accepted_counts[("79030000001", "hi")] == 1
    assert sim.recording.max_outstanding() == 1
    await esme.close()


async def test_enquire_link_left_unanswered(make_sim: SimFactory) -> None:
    sim = await make_sim(faults=FaultConfig(ignore_enquire_link=True))
    esme = await TinyEsme.bound(sim.port, SYSTEM_ID, PASSWORD, "trx")
    with pytest.raises(TimeoutError):
        await esme.request(EnquireLink(), timeout=NO_ANSWER)
    assert (await esme.request(submit("79030000001"))).command_status == 0
    assert [r.answered for r in sim.recording.enquire_links] == [False]
    await esme.close()


async def test_garbage_frame_on_demand(make_sim: SimFactory) -> None:
    sim = await make_sim()
    esme = await TinyEsme.bound(sim.port, SYSTEM_ID, PASSWORD, "trx")
    await sim.send_garbage()
    await esme.wait_closed()
    assert esme.stream_error is not None
    await esme.close()


async def test_garbage_after_n_pdus(make_sim: SimFactory) -> None:
    sim = await make_sim(faults=FaultConfig(garbage_after_pdus=2))
    esme = await TinyEsme.bound(sim.port, SYSTEM_ID, PASSWORD, "trx")
    esme.send(submit("79030000001"))
    await esme.wait_closed()
    assert esme.stream_error is not None
    await esme.close()


async def test_refused_connections(make_sim: SimFactory) -> None:
    sim = await make_sim(faults=FaultConfig(refuse_connections=True))
    esme = await TinyEsme.connect(sim.port)
    await esme.wait_closed()
    await esme.close()
    sim.config.faults.refuse_connections = False
    accepted = await TinyEsme.bound(sim.port, SYSTEM_ID, PASSWORD)
    assert [c.accepted for c in sim.recording.connections] == [False, True]
    await accepted.close()


async def test_stop_then_listen_again_on_the_same_port(make_sim: SimFactory) -> None:
    sim = await make_sim(receipt_delay=1.0)
    port = sim.port
    esme = await TinyEsme.bound(sim.port, SYSTEM_ID, PASSWORD, "tx")
    message_id = (await esme.request(submit("79030000001", registered_delivery=1))).message_id
    await sim.stop()
    await esme.wait_closed()
    with pytest.raises(OSError):
        await TinyEsme.connect(port)
    await sim.start(host="127.0.0.1", port=port)
    assert sim.port == port
    rx = await TinyEsme.bound(port, SYSTEM_ID, PASSWORD, "rx")
    receipt = await rx.next_request()  # the receipt kept while the SMSC was down
    assert isinstance(receipt, DeliverSm) and f"id:{message_id} ".encode() in receipt.short_message
    await esme.close()
    await rx.close()


async def test_generic_nack_from_the_client_gets_an_unbind(make_sim: SimFactory) -> None:
    sim = await make_sim()
    esme = await TinyEsme.bound(sim.port, SYSTEM_ID, PASSWORD, "trx")
    esme.send(GenericNack(command_status=CommandStatus.ESME_RINVCMDID))
    unbind = await esme.next_request()
    assert unbind.command_id == CommandId.UNBIND
    assert any("L2933-2934" in v for v in sim.recording.violations)
    await esme.wait_closed()


async def test_drop_connections(make_sim: SimFactory) -> None:
    sim = await make_sim()
    esme = await TinyEsme.bound(sim.port, SYSTEM_ID, PASSWORD, "trx")
    await sim.drop_connections()
    await esme.wait_closed()
    assert sim.bound_count(SYSTEM_ID) == 0
