"""Binds, the session limit, enquire_link, unbind and commands the SMSC does not take."""

from __future__ import annotations

import asyncio

import pytest

from pdu.constants import CommandId, CommandStatus
from pdu.pdus import (
    BindReceiverResp,
    BindTransceiverResp,
    BindTransmitterResp,
    EnquireLink,
    EnquireLinkResp,
    GenericNack,
    SubmitSm,
    Unbind,
    UnknownPdu,
)
from pdu.tlv import Tag
from tests.smsc_sim.conftest import PASSWORD, SYSTEM_ID, SimFactory
from tests.smsc_sim.smpp_client import TinyEsme


@pytest.mark.parametrize(
    ("mode", "response_class"),
    [("tx", BindTransmitterResp), ("rx", BindReceiverResp), ("trx", BindTransceiverResp)],
)
async def test_bind_each_mode(make_sim: SimFactory, mode: str, response_class: object) -> None:
    sim = await make_sim(smsc_system_id="DEVINO-SIM")
    esme = await TinyEsme.connect(sim.port)
    response = await esme.bind(SYSTEM_ID, PASSWORD, mode)
    assert type(response) is response_class
    assert response.command_status == CommandStatus.ESME_ROK
    assert response.system_id == "DEVINO-SIM"
    assert response.tlvs[Tag.SC_INTERFACE_VERSION] == b"\x34"
    assert sim.bound_count(SYSTEM_ID) == 1
    [attempt] = sim.recording.binds
    assert attempt.ok and attempt.mode == mode and attempt.system_id == SYSTEM_ID
    await esme.close()


async def test_wrong_password_is_refused_and_closed(make_sim: SimFactory) -> None:
    sim = await make_sim()
    esme = await TinyEsme.connect(sim.port)
    response = await esme.bind(SYSTEM_ID, "wrong")
    assert response.command_status == CommandStatus.ESME_RINVPASWD
    await esme.wait_closed()
    assert sim.bound_count(SYSTEM_ID) == 0
    assert sim.recording.binds[0].command_status == CommandStatus.ESME_RINVPASWD
    assert "wrong" not in repr(sim.recording) and PASSWORD not in repr(sim.config)


async def test_unknown_system_id_is_refused(make_sim: SimFactory) -> None:
    sim = await make_sim()
    esme = await TinyEsme.connect(sim.port)
    response = await esme.bind("nobody", PASSWORD)
    assert response.command_status == CommandStatus.ESME_RINVSYSID
    await esme.wait_closed()


async def test_fifth_bind_is_refused_with_bind_failed(make_sim: SimFactory) -> None:
    sim = await make_sim()
    sessions = [
        await TinyEsme.bound(sim.port, SYSTEM_ID, PASSWORD, mode)
        for mode in ("tx", "rx", "trx", "trx")
    ]
    fifth = await TinyEsme.connect(sim.port)
    response = await fifth.bind(SYSTEM_ID, PASSWORD, "tx")
    assert response.command_status == CommandStatus.ESME_RBINDFAIL
    assert sim.recording.max_concurrent_binds[SYSTEM_ID] == 4
    # A slot frees when a session goes away.
    await sessions[0].request(Unbind())
    await sim.wait_until(lambda: sim.bound_count(SYSTEM_ID) == 3)
    again = await TinyEsme.bound(sim.port, SYSTEM_ID, PASSWORD, "tx")
    assert sim.recording.max_concurrent_binds[SYSTEM_ID] == 4
    for esme in [*sessions, fifth, again]:
        await esme.close()


async def test_bind_twice_on_one_connection(make_sim: SimFactory) -> None:
    sim = await make_sim()
    esme = await TinyEsme.bound(sim.port, SYSTEM_ID, PASSWORD)
    response = await esme.bind(SYSTEM_ID, PASSWORD)
    assert response.command_status == CommandStatus.ESME_RALYBND
    assert sim.bound_count(SYSTEM_ID) == 1
    await esme.close()


async def test_submit_needs_a_transmitting_bind(make_sim: SimFactory) -> None:
    sim = await make_sim()
    unbound = await TinyEsme.connect(sim.port)
    response = await unbound.request(SubmitSm(destination_addr="79030000001"))
    assert response.command_status == CommandStatus.ESME_RINVBNDSTS
    receiver = await TinyEsme.bound(sim.port, SYSTEM_ID, PASSWORD, "rx")
    response = await receiver.request(SubmitSm(destination_addr="79030000001"))
    assert response.command_status == CommandStatus.ESME_RINVBNDSTS
    assert sim.recording.accepted() == []
    await unbound.close()
    await receiver.close()


async def test_enquire_link_is_answered_and_recorded(make_sim: SimFactory) -> None:
    sim = await make_sim()
    esme = await TinyEsme.bound(sim.port, SYSTEM_ID, PASSWORD)
    response = await esme.request(EnquireLink())
    assert response.command_id == CommandId.ENQUIRE_LINK_RESP
    [record] = sim.recording.enquire_links
    assert record.answered
    # Clock seconds since the bind_resp, the last PDU the SMSC wrote.
    assert record.idle_seconds > 0
    await esme.close()


async def test_the_smsc_asks_enquire_link_too(make_sim: SimFactory) -> None:
    sim = await make_sim()
    esme = await TinyEsme.bound(sim.port, SYSTEM_ID, PASSWORD)
    # TinyEsme answers enquire_link only when told to: the check waits for that answer.
    checking = asyncio.create_task(sim.send_enquire_link())
    probe = await esme.next_request()
    assert probe.command_id == CommandId.ENQUIRE_LINK and not checking.done()
    esme.send(EnquireLinkResp(sequence_number=probe.sequence_number))
    await asyncio.wait_for(checking, 3.0)
    await esme.close()


async def test_unbind_is_answered_and_closes(make_sim: SimFactory) -> None:
    sim = await make_sim()
    esme = await TinyEsme.bound(sim.port, SYSTEM_ID, PASSWORD)
    response = await esme.request(Unbind())
    assert response.command_id == CommandId.UNBIND_RESP
    await esme.wait_closed()
    await sim.wait_until(lambda: sim.recording.sessions[0].closed is not None)
    assert sim.bound_count(SYSTEM_ID) == 0


async def test_unknown_command_gets_generic_nack(make_sim: SimFactory) -> None:
    sim = await make_sim()
    esme = await TinyEsme.bound(sim.port, SYSTEM_ID, PASSWORD)
    response = await esme.request(UnknownPdu(command_id=0x00000123, body=b"\x01\x02"))
    assert isinstance(response, GenericNack)
    assert response.command_status == CommandStatus.ESME_RINVCMDID
    # The session goes on.
    assert (await esme.request(EnquireLink())).command_status == 0
    await esme.close()


async def test_unreadable_stream_closes_the_connection(make_sim: SimFactory) -> None:
    sim = await make_sim()
    esme = await TinyEsme.bound(sim.port, SYSTEM_ID, PASSWORD)
    esme.send_raw(b"\x00\x00\x00\x03garbage")
    await esme.wait_closed()
    assert any("unreadable stream" in v for v in sim.recording.violations)


async def test_connections_are_recorded_with_times(make_sim: SimFactory) -> None:
    sim = await make_sim()
    first = await TinyEsme.connect(sim.port)
    await asyncio.sleep(0.01)
    second = await TinyEsme.connect(sim.port)
    await sim.wait_until(lambda: len(sim.recording.connections) == 2)
    a, b = sim.recording.connections
    assert a.accepted and b.accepted and b.time > a.time
    await first.close()
    await second.close()
